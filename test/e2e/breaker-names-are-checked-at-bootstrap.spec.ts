/**
 * Names at bootstrap: two different classes whose unnamed decorators make the same
 * `ClassName.methodName` fail (they would share a breaker); an explicit name no registration
 * declares gets the defaults and one warning (with the declared name it probably meant); a
 * decorator may carry its breaker's options, and options for one name that disagree between two
 * places fail, naming both.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import request from 'supertest';
import {
  CircuitBreaker,
  CircuitBreakerConfigError,
  CircuitBreakerModule,
  CircuitBreakerRegistry,
  InjectCircuitBreaker,
  ManualClock,
  UseCircuitBreaker,
} from '../../lib/index.js';
import type { CircuitBreakerModuleOptions } from '../../lib/index.js';
import { Apps, startApp, tripFast, until } from './helpers.js';

// Two versions of one API, each in its own module, both with a class named UsersController.
const V1 = (() => {
  @Controller('v1/users')
  class UsersController {
    @Get()
    @UseCircuitBreaker()
    list() {
      throw new Error('v1 store down');
    }
  }
  @Module({ controllers: [UsersController] })
  class UsersV1Module {}
  return UsersV1Module;
})();

const V2 = (() => {
  @Controller('v2/users')
  class UsersController {
    @Get()
    @UseCircuitBreaker()
    list() {
      return [{ id: 1 }];
    }
  }
  @Module({ controllers: [UsersController] })
  class UsersV2Module {}
  return UsersV2Module;
})();

@Controller('v2-named/users')
class NamedUsersController {
  @Get()
  @UseCircuitBreaker('users-v2')
  list() {
    return [{ id: 1 }];
  }
}

@Injectable()
class CheckoutService {
  @UseCircuitBreaker('paymnets')
  async charge() {
    return 'charged';
  }

  @UseCircuitBreaker('paymnets')
  async refund() {
    return 'refunded';
  }

  @UseCircuitBreaker('payments')
  async capture() {
    return 'captured';
  }

  @UseCircuitBreaker('geocoder')
  async locate() {
    return 'here';
  }

  @UseCircuitBreaker()
  async unnamed() {
    return 'fine';
  }
}

@Injectable()
class AuditService {
  constructor(@InjectCircuitBreaker('audti') readonly audit: CircuitBreaker) {}
}

@Injectable()
class SearchService {
  calls = 0;

  @UseCircuitBreaker('search', { fallback: 'cached', options: { timeoutMs: 500, minimumCalls: 2, slidingWindow: { type: 'count', size: 4 } } })
  find(query: string) {
    this.calls++;
    return new Promise<string[]>(() => undefined);
  }

  cached(query: string) {
    return [`cached ${query}`];
  }
}

@Controller('search')
class SearchController {
  constructor(private readonly search: SearchService) {}

  @Get()
  find() {
    return this.search.find('nest');
  }
}

@Injectable()
class OtherSearchClient {
  @UseCircuitBreaker('search', { options: { timeoutMs: 800 } })
  async suggest() {
    return [];
  }
}

@Injectable()
class SameSearchOptions {
  @UseCircuitBreaker('search', { options: { timeoutMs: 500, minimumCalls: 2, slidingWindow: { type: 'count', size: 4 } } })
  async suggest() {
    return [];
  }
}

@Injectable()
class BadOptionsClient {
  @UseCircuitBreaker('bad', { options: { timeoutMs: -5 } })
  async call() {
    return 1;
  }
}

@Module({ imports: [CircuitBreakerModule.forFeature({ search: { timeoutMs: 2_000 } })] })
class SearchFeatureModule {}

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

describe('breaker names at bootstrap', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());
  const clock = new ManualClock();

  function forRoot(options: CircuitBreakerModuleOptions = {}) {
    return CircuitBreakerModule.forRoot({ logger: false, defaults: { clock, ...tripFast() }, ...options });
  }

  describe('two classes with the same name and unnamed decorators', () => {
    it('fail bootstrap naming both classes and their modules, and asking for an explicit name', async () => {
      const error = await apps.bootstrapError({ imports: [forRoot(), V1, V2] });
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      const message = (error as Error).message;
      expect((error as CircuitBreakerConfigError).breakerName).toBe('UsersController.list');
      for (const text of ['UsersController.list (module UsersV1Module)', 'UsersController.list (module UsersV2Module)', 'explicit name']) {
        expect(message).toContain(text);
      }
    });

    it('with an explicit name on one of them, each keeps its own breaker: v1 failing does not take v2 down', async () => {
      const app = apps.track(await startApp({ imports: [forRoot(), V1], controllers: [NamedUsersController] }));
      const server = app.getHttpServer();
      await request(server).get('/v1/users').expect(500);
      await request(server).get('/v1/users').expect(500);
      await request(server).get('/v1/users').expect(503);
      await request(server).get('/v2-named/users').expect(200, [{ id: 1 }]);
    });
  });

  describe('an explicit name no registration declares (strict off)', () => {
    async function warningsOf(metadata: { providers: (new (...args: never[]) => unknown)[] }, options: CircuitBreakerModuleOptions = {}) {
      const logger = new CapturingLogger();
      const app = apps.track(
        await startApp({ imports: [forRoot({ logger, breakers: { payments: {}, audit: {} }, ...options })], providers: metadata.providers }),
      );
      return { app, warnings: logger.warnings };
    }

    it('gets the defaults and ONE warning naming every method using it and the declared name it probably meant', async () => {
      const { app, warnings } = await warningsOf({ providers: [CheckoutService] });
      const typo = warnings.filter((w) => w.includes('"paymnets"'));
      expect(typo).toHaveLength(1);
      expect(typo[0]).toContain("@UseCircuitBreaker('paymnets') on CheckoutService.charge");
      expect(typo[0]).toContain("@UseCircuitBreaker('paymnets') on CheckoutService.refund");
      expect(typo[0]).toContain('Did you mean "payments"?');
      expect(app.get(CircuitBreakerRegistry).get('paymnets').options.openDurationMs).toBe(10_000); // tripFast defaults
    });

    it('a name close to nothing declared is warned about without a suggestion; declared and unnamed ones are not', async () => {
      const { warnings } = await warningsOf({ providers: [CheckoutService] });
      const geocoder = warnings.filter((w) => w.includes('"geocoder"'));
      expect(geocoder).toHaveLength(1);
      expect(geocoder[0]).toContain('CheckoutService.locate');
      expect(geocoder[0]).not.toContain('Did you mean');
      expect(warnings.filter((w) => w.includes('"payments"') && !w.includes('paymnets'))).toEqual([]);
      expect(warnings.filter((w) => w.includes('CheckoutService.unnamed'))).toEqual([]);
      expect(warnings).toHaveLength(2);
    });

    it('an @InjectCircuitBreaker name declared nowhere is warned about once, with the class that injects it', async () => {
      const { warnings } = await warningsOf({ providers: [AuditService] });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("@InjectCircuitBreaker('audti') in AuditService");
      expect(warnings[0]).toContain('Did you mean "audit"?');
    });
  });

  describe("a decorator's own options", () => {
    it('configure its breaker: the route times out after the decorator timeoutMs and the fallback answers', async () => {
      const app = apps.track(await startApp({ imports: [forRoot()], controllers: [SearchController], providers: [SearchService] }));
      const breaker = app.get(CircuitBreakerRegistry).get('search');
      expect(breaker.options.timeoutMs).toBe(500);
      const search = app.get(SearchService);
      const pending = request(app.getHttpServer()).get('/search').then((r) => r);
      await until(() => search.calls === 1, 'the search call');
      clock.advance(500);
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.body).toEqual(['cached nest']);
      expect(breaker.totals().timeoutCalls).toBe(1);
    });

    it('declare the name: strict mode accepts it, and no warning is logged', async () => {
      const logger = new CapturingLogger();
      const app = apps.track(await startApp({ imports: [forRoot({ strict: true, logger })], providers: [SearchService] }));
      expect(app.get(CircuitBreakerRegistry).isDeclared('search')).toBe(true);
      expect(logger.warnings.filter((w) => w.includes('declared by no registration'))).toEqual([]);
    });

    it('the same options given in two places are fine', async () => {
      const app = apps.track(await startApp({ imports: [forRoot()], providers: [SearchService, SameSearchOptions] }));
      expect(app.get(CircuitBreakerRegistry).get('search').options.timeoutMs).toBe(500);
    });

    it('disagreeing with another decorator fails bootstrap naming both decorated methods', async () => {
      const error = await apps.bootstrapError({ imports: [forRoot()], providers: [SearchService, OtherSearchClient] });
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      expect((error as CircuitBreakerConfigError).breakerName).toBe('search');
      expect((error as Error).message).toContain("@UseCircuitBreaker('search') options on SearchService.find");
      expect((error as Error).message).toContain("@UseCircuitBreaker('search') options on OtherSearchClient.suggest");
    });

    it('disagreeing with forRoot fails bootstrap naming forRoot and the decorated method', async () => {
      const error = await apps.bootstrapError({ imports: [forRoot({ breakers: { search: { timeoutMs: 900 } } })], providers: [SearchService] });
      expect((error as Error).message).toContain('CircuitBreakerModule.forRoot');
      expect((error as Error).message).toContain('SearchService.find');
    });

    it('disagreeing with forFeature fails bootstrap naming the feature module and the decorated method', async () => {
      const error = await apps.bootstrapError({ imports: [forRoot(), SearchFeatureModule], providers: [SearchService] });
      expect((error as Error).message).toContain('CircuitBreakerModule.forFeature({ search }) in SearchFeatureModule');
      expect((error as Error).message).toContain('SearchService.find');
    });

    it('an invalid value fails bootstrap naming the breaker, the option and the value', async () => {
      const error = await apps.bootstrapError({ imports: [forRoot()], providers: [BadOptionsClient] });
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      expect(error).toMatchObject({ breakerName: 'bad', option: 'timeoutMs', value: -5 });
    });
  });

  // "a\ud800" and "a\udc00" both encode to "a\ufffd" in UTF-8: two breakers, one metric label,
  // one log text, one Redis key.
  describe('a name with a lone surrogate', () => {
    it.each<[string, () => CircuitBreakerModuleOptions]>([
      ['a breakers key', () => ({ breakers: { 'pay\ud800': {} } })],
      ['a families key', () => ({ families: { 'shards\udc00': {} } })],
      ['a pattern', () => ({ breakers: { 'pay\ud800-*': {} } })],
    ])('in %s fails bootstrap with a CircuitBreakerConfigError', async (_where, options) => {
      const error = await apps.bootstrapError({ imports: [forRoot(options())] });
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      expect(error).toMatchObject({ option: 'name' });
      expect((error as Error).message).toContain('well-formed UTF-16');
    });

    it('in a decorator fails bootstrap with a CircuitBreakerConfigError', async () => {
      @Injectable()
      class LoneSurrogateClient {
        @UseCircuitBreaker('pay\udc00')
        async pay(): Promise<string> {
          return 'paid';
        }
      }
      const error = await apps.bootstrapError({ imports: [forRoot()], providers: [LoneSurrogateClient] });
      expect(error).toBeInstanceOf(CircuitBreakerConfigError);
      expect((error as Error).message).toContain('well-formed UTF-16');
    });

    it('is refused by registry.get, and not remembered as an undeclared name', async () => {
      const app = apps.track(await startApp({ imports: [forRoot()] }));
      const registry = app.get(CircuitBreakerRegistry);
      expect(() => registry.get('pay\ud800')).toThrow(CircuitBreakerConfigError);
      expect(() => registry.get('pay\ud800')).toThrow('well-formed UTF-16');
      expect(registry.find('pay\ud800')).toBeUndefined();
      expect([...registry.undeclaredNames().keys()]).not.toContain('pay\ud800');
      expect(() => new CircuitBreaker({ name: 'pay\udc00' })).toThrow(CircuitBreakerConfigError);
      expect(registry.get('pay\u{1F600}').name).toBe('pay\u{1F600}'); // a surrogate pair is one character
    });
  });
});
