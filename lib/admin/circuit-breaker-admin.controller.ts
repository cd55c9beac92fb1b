/**
 * The admin HTTP API: read every breaker's snapshot and operate breakers (manual states,
 * reconfigure) at runtime. Mounted by `CircuitBreakerAdminModule.register()` under a path of your
 * choice; it is never mounted unless that module is imported.
 *
 * Responses carry snapshots only (states, counts, rates, times), never the error message of a call
 * or a stack trace: your dependencies' error texts can carry host names, queries or credentials.
 */
import {
  BadRequestException,
  Body,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  Optional,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { CircuitBreaker, CircuitBreakerSnapshot } from '../core/circuit-breaker.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { SETTING_KEYS } from '../core/options.js';
import { CIRCUIT_STATES, STATE_TABLE } from '../core/states/index.js';
import type { CircuitBreakerSettings } from '../core/options.js';
import { jsonBodyOnly } from './json-body.guard.js';

/** Options that exist but hold functions or objects with behaviour: settable in code only. */
const CODE_ONLY: Readonly<Record<string, string>> = {
  isFailure: 'it takes a function',
  isResultFailure: 'it takes a function',
  retryAfterMs: 'it takes a function',
  healthCheck: 'it takes a function (check)',
  clock: 'it takes an object with methods',
  store: 'it takes a store object, fixed when the breaker is created',
  name: 'a breaker cannot be renamed',
};

/**
 * Options that `POST /:name/reconfigure` accepts: those whose values JSON can express. `null` removes
 * an option from the breaker's options, so the engine's built-in default applies (not
 * `CircuitBreakerModule` `defaults`).
 */
export const RECONFIGURABLE_OVER_HTTP: readonly (keyof CircuitBreakerSettings)[] = SETTING_KEYS.filter((key) => !Object.hasOwn(CODE_ONLY, key));

/** `POST /:name/<route>`: each manual state's route (from the table of states), plus `reset`. */
const MANUAL_ACTIONS: Readonly<Record<string, (breaker: CircuitBreaker) => void>> = {
  ...Object.fromEntries(
    CIRCUIT_STATES.flatMap((state) => {
      const manual = STATE_TABLE[state].manual;
      return manual === null ? [] : [[manual.route, (breaker: CircuitBreaker) => breaker[manual.method]()]];
    }),
  ),
  reset: (breaker) => breaker.reset(),
};

export const MISSING_REGISTRY_MESSAGE =
  'CircuitBreakerAdminModule needs the CircuitBreakerRegistry of CircuitBreakerModule, which this application does not provide. ' +
  'Import CircuitBreakerModule.forRoot() (or forRootAsync()) in your application module, leaving isGlobal at its default (true).';

/** The body of a 400 answer; `option` names the offending option when there is one. */
export interface CircuitBreakerAdminError {
  statusCode: 400;
  error: 'Bad Request';
  message: string;
  option?: string;
}

/**
 * Routes (relative to the path given to `CircuitBreakerAdminModule.register`):
 *
 * | route | does |
 * |---|---|
 * | `GET /` | snapshots of every breaker, sorted by name |
 * | `GET /:name` | one snapshot; 404 for an unknown name |
 * | `POST /:name/force-open`, `/disable`, `/metrics-only`, `/reset` | manual control; answers the new snapshot |
 * | `POST /:name/reconfigure` | JSON body of options (see {@link RECONFIGURABLE_OVER_HTTP}); answers the new snapshot |
 *
 * An unknown name answers 404 and creates no breaker; a bad request answers 400 and changes nothing.
 * The `POST` routes take `content-type: application/json` only (415 otherwise, checked after your
 * guards): a cross-site form post cannot change a breaker.
 */
@Injectable()
export class CircuitBreakerAdminController {
  private readonly registry: CircuitBreakerRegistry;
  private readonly logger: LoggerService | undefined;

  constructor(@Optional() @Inject(CircuitBreakerRegistry) registry: CircuitBreakerRegistry | undefined) {
    if (registry === undefined || registry === null) throw new Error(MISSING_REGISTRY_MESSAGE);
    this.registry = registry;
    const logger = registry.moduleOptions.logger;
    this.logger = logger === false ? undefined : (logger ?? new Logger('CircuitBreakerAdmin'));
  }

  @Get()
  list(): CircuitBreakerSnapshot[] {
    return this.registry
      .getAll()
      .map((breaker) => breaker.snapshot())
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  @Get(':name')
  one(@Param('name') name: string): CircuitBreakerSnapshot {
    return this.find(name).snapshot();
  }

  @Post(':name/reconfigure')
  @HttpCode(200)
  @UseGuards(jsonBodyOnly)
  reconfigure(@Param('name') name: string, @Body() body: unknown): CircuitBreakerSnapshot {
    const breaker = this.find(name);
    const settings = settingsFrom(body);
    try {
      this.registry.reconfigure(name, settings);
    } catch (error) {
      if (error instanceof CircuitBreakerConfigError) throw badRequest(error.message, error.option);
      throw error;
    }
    this.logger?.log(`Circuit breaker "${name}" reconfigured over the admin API: ${JSON.stringify(body)}`);
    return breaker.snapshot();
  }

  /** Manual control: the routes of the manual states in the engine's table of states, and reset. */
  @Post(':name/:action')
  @HttpCode(200)
  @UseGuards(jsonBodyOnly)
  act(@Param('name') name: string, @Param('action') action: string): CircuitBreakerSnapshot {
    const control = Object.hasOwn(MANUAL_ACTIONS, action) ? MANUAL_ACTIONS[action] : undefined;
    if (control === undefined) throw new NotFoundException(`Unknown action "${action}"; actions: ${Object.keys(MANUAL_ACTIONS).join(', ')}, reconfigure`);
    const breaker = this.find(name);
    control(breaker);
    return breaker.snapshot();
  }

  /** has() before get(): get() would build a breaker for an unknown name. */
  private find(name: string): CircuitBreaker {
    if (!this.registry.has(name)) throw new NotFoundException(`Circuit breaker "${name}" does not exist`);
    return this.registry.get(name);
  }
}

/** Validates a reconfigure body's shape and keys; values are validated by the breaker itself. */
function settingsFrom(body: unknown): CircuitBreakerSettings {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The body must be a JSON object of breaker options (content-type: application/json), e.g. {"failureRateThreshold": 30}');
  }
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (Object.hasOwn(CODE_ONLY, key)) {
      throw badRequest(`Option "${key}" cannot be set over HTTP (${CODE_ONLY[key]}); set it in code`, key);
    }
    if (!(RECONFIGURABLE_OVER_HTTP as readonly string[]).includes(key)) {
      throw badRequest(`Unknown option "${key}"; options settable over HTTP: ${RECONFIGURABLE_OVER_HTTP.join(', ')}`, key);
    }
    // null: back to the default (reconfigure drops options set to undefined)
    settings[key] = value === null ? undefined : value;
  }
  return settings as CircuitBreakerSettings;
}

function badRequest(message: string, option?: string): BadRequestException {
  const body: CircuitBreakerAdminError = { statusCode: 400, error: 'Bad Request', message, ...(option === undefined ? {} : { option }) };
  return new BadRequestException(body);
}
