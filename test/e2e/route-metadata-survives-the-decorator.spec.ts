import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Injectable,
  Param,
  ParseIntPipe,
  Post,
  SetMetadata,
  UseGuards,
  UseInterceptors,
  UsePipes,
} from '@nestjs/common';
import type { CallHandler, CanActivate, ExecutionContext, INestApplication, NestInterceptor, PipeTransform } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { map } from 'rxjs';
import type { Observable } from 'rxjs';
import request from 'supertest';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock, UseCircuitBreaker } from '../../lib/index.js';
import { Apps, startApp, tripFast } from './helpers.js';

const ROLES = 'roles';
const Roles = (...roles: string[]) => SetMetadata(ROLES, roles);

@Injectable()
class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}
  readonly seen: (string[] | undefined)[] = [];

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.get<string[] | undefined>(ROLES, context.getHandler());
    this.seen.push(roles);
    if (roles === undefined) return true;
    const role = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers['x-role'];
    return role !== undefined && roles.includes(role);
  }
}

/** Wraps the body so the test sees whether (and in which order) interceptors ran. */
class TagInterceptor implements NestInterceptor {
  constructor(private readonly tag: string) {}
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((body: unknown) => ({ [this.tag]: body })));
  }
}
class OuterTag extends TagInterceptor {
  constructor() {
    super('outer');
  }
}

/** Doubles a number: proves a method-level pipe still runs. */
class DoublePipe implements PipeTransform<number, number> {
  transform(value: number): number {
    return typeof value === 'number' ? value * 2 : value;
  }
}

/** Strips a leading '+' from string params: ParseIntPipe rejects '+21', so a 200 proves it ran first. */
class StripPlusPipe implements PipeTransform<unknown, unknown> {
  transform(value: unknown): unknown {
    return typeof value === 'string' ? value.replace(/^\+/, '') : value;
  }
}

class CreateOrder {
  item!: string;
}

@Controller('meta')
class MetaController {
  handlerCalls = 0;

  @Post('created')
  @HttpCode(201)
  @UseCircuitBreaker('meta')
  @Header('X-Powered-By-Breaker', 'yes')
  @Header('Cache-Control', 'no-store')
  async created(@Body() body: CreateOrder): Promise<{ item: string }> {
    this.handlerCalls++;
    return { item: body.item };
  }

  @Post('accepted')
  @UseCircuitBreaker('meta')
  @HttpCode(202)
  async accepted(): Promise<{ accepted: true }> {
    return { accepted: true };
  }

  @Get('admin')
  @UseGuards(RolesGuard)
  @Roles('admin')
  @UseCircuitBreaker('meta')
  async admin(): Promise<{ secret: number }> {
    this.handlerCalls++;
    return { secret: 42 };
  }

  @Get('admin-below')
  @UseCircuitBreaker('meta')
  @UseGuards(RolesGuard)
  @Roles('admin')
  async adminBelow(): Promise<{ secret: number }> {
    this.handlerCalls++;
    return { secret: 43 };
  }

  @Get('double/:n')
  @UseCircuitBreaker('meta')
  @UsePipes(StripPlusPipe)
  async double(@Param('n', ParseIntPipe, DoublePipe) n: number): Promise<{ n: number; type: string }> {
    return { n, type: typeof n };
  }

  @Get('interceptor-above')
  @UseInterceptors(OuterTag)
  @UseCircuitBreaker('meta')
  async interceptorAbove(): Promise<string> {
    return 'body';
  }

  @Get('interceptor-below')
  @UseCircuitBreaker('meta')
  @UseInterceptors(OuterTag)
  async interceptorBelow(): Promise<string> {
    return 'body';
  }

  @Get('interceptor-above-open')
  @UseInterceptors(OuterTag)
  @UseCircuitBreaker('always-open')
  async interceptorAboveOpen(): Promise<string> {
    return 'body';
  }

  @Get('interceptor-below-open')
  @UseCircuitBreaker('always-open')
  @UseInterceptors(OuterTag)
  async interceptorBelowOpen(): Promise<string> {
    return 'body';
  }
}

describe('route metadata survives @UseCircuitBreaker', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  async function setup(): Promise<{ app: INestApplication; registry: CircuitBreakerRegistry }> {
    const clock = new ManualClock();
    const app = apps.track(
      await startApp({
        imports: [CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast() } })],
        controllers: [MetaController],
        providers: [RolesGuard],
      }),
    );
    const registry = app.get(CircuitBreakerRegistry);
    registry.get('always-open').forceOpen();
    return { app, registry };
  }

  it('@HttpCode and @Header (above and below the breaker decorator) still apply', async () => {
    const { app, registry } = await setup();
    const res = await request(app.getHttpServer()).post('/meta/created').send({ item: 'book' }).expect(201);
    expect(res.body).toEqual({ item: 'book' });
    expect(res.headers['x-powered-by-breaker']).toBe('yes');
    expect(res.headers['cache-control']).toBe('no-store');
    await request(app.getHttpServer()).post('/meta/accepted').expect(202, { accepted: true });
    expect(registry.get('meta').snapshot().calls).toBe(2);
  });

  it.each(['admin', 'admin-below'])('a guard reading SetMetadata via Reflector still allows and rejects (/%s)', async (route) => {
    const { app, registry } = await setup();
    const controller = app.get(MetaController);
    const guard = app.get(RolesGuard);
    const server = app.getHttpServer();

    await request(server).get(`/meta/${route}`).set('x-role', 'guest').expect(403);
    expect(controller.handlerCalls).toBe(0);
    expect(registry.get('meta').snapshot().calls).toBe(0);

    const res = await request(server).get(`/meta/${route}`).set('x-role', 'admin').expect(200);
    expect(res.body.secret).toBeGreaterThan(0);
    expect(guard.seen).toEqual([['admin'], ['admin']]);
    expect(controller.handlerCalls).toBe(1);
  });

  it('parameter pipes and @UsePipes still run before the handler', async () => {
    const { app } = await setup();
    await request(app.getHttpServer()).get('/meta/double/21').expect(200, { n: 42, type: 'number' });
    await request(app.getHttpServer()).get('/meta/double/+21').expect(200, { n: 42, type: 'number' });
    await request(app.getHttpServer()).get('/meta/double/x').expect(400);
  });

  it.each(['interceptor-above', 'interceptor-below'])('@UseInterceptors combined with the breaker still runs (%s)', async (route) => {
    const { app, registry } = await setup();
    await request(app.getHttpServer()).get(`/meta/${route}`).expect(200, { outer: 'body' });
    expect(registry.get('meta').snapshot().calls).toBe(1);
  });

  it.each(['interceptor-above-open', 'interceptor-below-open'])('with another interceptor the open circuit still maps to 503 (%s)', async (route) => {
    const { app } = await setup();
    const res = await request(app.getHttpServer()).get(`/meta/${route}`).expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', breaker: 'always-open' });
    // forced_open has no known retry time: no Retry-After
    expect(res.body.retryAfterMs).toBeUndefined();
    expect(res.headers['retry-after']).toBeUndefined();
  });

  it('the wrapped method keeps its name and length', () => {
    const proto = MetaController.prototype;
    expect(proto.created.name).toBe('created');
    expect(proto.created.length).toBe(1);
    expect(proto.double.name).toBe('double');
    expect(proto.double.length).toBe(1);
    expect(proto.accepted.length).toBe(0);
  });

  it('the guard sees the metadata on the very function the router calls (Reflector.get on the handler)', () => {
    const reflector = new Reflector();
    expect(reflector.get<string[]>(ROLES, MetaController.prototype.admin)).toEqual(['admin']);
    expect(reflector.get<string[]>(ROLES, MetaController.prototype.adminBelow)).toEqual(['admin']);
  });
});
