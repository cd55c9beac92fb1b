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
  Query,
  ServiceUnavailableException,
  UseGuards,
} from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { CircuitBreaker, CircuitBreakerSnapshot } from '../core/circuit-breaker.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { SETTING_KEYS } from '../core/options.js';
import { CIRCUIT_STATES, STATE_TABLE } from '../core/states/index.js';
import type { CircuitBreakerSettings } from '../core/options.js';
import { acceptsEmptyJsonBody } from './empty-json-body.js';
import { jsonBodyOnly } from './json-body.guard.js';
import type { CircuitBreakerFamily, CircuitBreakerFamilySummary } from '../family/circuit-breaker-family.js';
import { FAMILY_LIMIT_KEYS } from '../family/family-options.js';

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

/** How the transition log names the admin API (the dashboard's buttons go through it too). */
const ADMIN_ACTOR = 'over the admin API';

export const MISSING_REGISTRY_MESSAGE =
  'CircuitBreakerAdminModule needs the CircuitBreakerRegistry of CircuitBreakerModule, which this application does not provide. ' +
  'Import CircuitBreakerModule.forRoot() (or forRootAsync()) in your application module, leaving isGlobal at its default (true).';

/** `GET /:family`: a family of keyed breakers, with the snapshot of each key's breaker. */
export interface CircuitBreakerAdminFamily extends CircuitBreakerFamilySummary {
  readonly family: true;
  readonly idleTtlMs: number;
  /** Every key's breaker (named `family:key`), sorted by name; the overflow breaker last when it exists. */
  readonly breakers: CircuitBreakerSnapshot[];
}

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
 * | `GET /` | snapshots of every breaker, keyed ones included (`family:key`), sorted by name |
 * | `GET /:name` | one snapshot; for a family, its summary and every key's snapshot; 404 for an unknown name |
 * | `POST /:name/force-open`, `/disable`, `/metrics-only`, `/reset` | manual control (on `family:key` too); answers the new snapshot; on a family, only `reset` (every key) |
 * | `POST /:name/reconfigure` | JSON body of options (see {@link RECONFIGURABLE_OVER_HTTP}); on a family, for every key, `maxKeys` and `idleTtlMs` too |
 * | `POST /:name/reconfigure?fleet=true` | the same options, written to the breaker's store as its fleet options record: every instance adopts them (503 when the store does not answer) |
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

  /** Every breaker, keyed breakers included (named `family:key`), sorted by name. */
  @Get()
  list(): CircuitBreakerSnapshot[] {
    const all = this.registry.getAll().map((breaker) => breaker.snapshot());
    for (const family of this.registry.families()) for (const breaker of family.breakers()) all.push(breaker.snapshot());
    return all.sort(byName);
  }

  @Get(':name')
  one(@Param('name') name: string): CircuitBreakerSnapshot | CircuitBreakerAdminFamily {
    const family = this.familyOf(name);
    return family === undefined ? this.find(name).snapshot() : familyReport(family);
  }

  @Post(':name/reconfigure')
  @acceptsEmptyJsonBody()
  @HttpCode(200)
  @UseGuards(jsonBodyOnly)
  async reconfigure(
    @Param('name') name: string,
    @Body() body: unknown,
    @Query('fleet') fleet?: string,
  ): Promise<CircuitBreakerSnapshot | CircuitBreakerAdminFamily> {
    const family = this.familyOf(name);
    const breaker = family === undefined ? this.find(name) : undefined;
    if (breaker !== undefined && !this.registry.has(name)) {
      const familyName = name.slice(0, name.indexOf(':'));
      throw badRequest(`Circuit breaker "${name}" is a key of the family "${familyName}", whose keys share its options: reconfigure the family (POST ${familyName}/reconfigure)`);
    }
    if (fleet !== undefined && fleet !== 'true' && fleet !== 'false') throw badRequest(`The query parameter "fleet" is true or false, got ${JSON.stringify(fleet)}`);
    if (fleet === 'true') {
      if (family !== undefined) throw badRequest(`Fleet-wide options apply to one breaker, not to a family ("${name}")`);
      const settings = settingsFrom(body, false);
      let record;
      try {
        record = await this.registry.reconfigure(name, settings as Record<string, unknown>, { fleet: true, source: 'admin API' });
      } catch (error) {
        if (error instanceof CircuitBreakerConfigError) throw badRequest(error.message, error.option);
        throw new ServiceUnavailableException(error instanceof Error ? error.message : String(error));
      }
      this.logger?.log(`Circuit breaker "${name}" reconfigured fleet-wide over the admin API (fleet options version ${record.version}): ${JSON.stringify(body)}`);
      return breaker!.snapshot();
    }
    const settings = settingsFrom(body, family !== undefined);
    try {
      if (family !== undefined) family.reconfigure(settings);
      else this.registry.reconfigure(name, settings);
    } catch (error) {
      if (error instanceof CircuitBreakerConfigError) throw badRequest(error.message, error.option);
      throw error;
    }
    this.logger?.log(`Circuit breaker ${family === undefined ? '' : 'family '}"${name}" reconfigured over the admin API: ${JSON.stringify(body)}`);
    return family === undefined ? breaker!.snapshot() : familyReport(family);
  }

  /**
   * Manual control: the routes of the manual states in the engine's table of states, and reset; on
   * a key's breaker (`family:key`) too. On a family, `reset` resets every key.
   */
  @Post(':name/:action')
  @acceptsEmptyJsonBody()
  @HttpCode(200)
  @UseGuards(jsonBodyOnly)
  act(@Param('name') name: string, @Param('action') action: string): CircuitBreakerSnapshot | CircuitBreakerAdminFamily {
    const control = Object.hasOwn(MANUAL_ACTIONS, action) ? MANUAL_ACTIONS[action] : undefined;
    if (control === undefined) throw new NotFoundException(`Unknown action "${echoed(action)}"; actions: ${Object.keys(MANUAL_ACTIONS).join(', ')}, reconfigure`);
    const family = this.familyOf(name);
    if (family !== undefined) {
      if (action !== 'reset') {
        throw badRequest(`"${action}" applies to one breaker: POST ${name}:<key>/${action} for a key of the family "${name}" (on a family, only reset and reconfigure)`);
      }
      this.registry.operateByHand(ADMIN_ACTOR, () => family.resetAll());
      this.logger?.log(`Circuit breaker family "${name}": every key reset over the admin API`);
      return familyReport(family);
    }
    const breaker = this.find(name);
    this.registry.operateByHand(ADMIN_ACTOR, () => control(breaker));
    return breaker.snapshot();
  }

  /** find() never builds a breaker: an unknown name answers 404 and creates nothing. */
  private find(name: string): CircuitBreaker {
    const breaker = this.registry.find(name);
    if (breaker === undefined) throw new NotFoundException(`Circuit breaker "${echoed(name)}" does not exist`);
    return breaker;
  }

  private familyOf(name: string): CircuitBreakerFamily | undefined {
    return this.registry.hasFamily(name) ? this.registry.family(name) : undefined;
  }
}

/**
 * A name or action from the request path as the error message shows it: at most
 * {@link MAX_ECHOED_CHARS} characters, so a long path is not answered with a body as long (the
 * longest real breaker name is 200 characters; 100 is enough to recognise what was asked).
 */
function echoed(text: string): string {
  return text.length > MAX_ECHOED_CHARS ? `${text.slice(0, MAX_ECHOED_CHARS)}…` : text;
}

const MAX_ECHOED_CHARS = 100;

function byName(a: CircuitBreakerSnapshot, b: CircuitBreakerSnapshot): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function familyReport(family: CircuitBreakerFamily): CircuitBreakerAdminFamily {
  const members = family.breakers();
  const overflow = family.find('_overflow');
  const snapshots = members.filter((b) => b !== overflow).map((b) => b.snapshot()).sort(byName);
  if (overflow !== undefined) snapshots.push(overflow.snapshot());
  return { family: true, ...family.summary(Number.MAX_SAFE_INTEGER), idleTtlMs: family.idleTtlMs, breakers: snapshots };
}

/** Validates a reconfigure body's shape and keys; values are validated by the breaker itself. */
function settingsFrom(body: unknown, family = false): CircuitBreakerSettings {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('The body must be a JSON object of breaker options (content-type: application/json), e.g. {"failureRateThreshold": 30}');
  }
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (Object.hasOwn(CODE_ONLY, key)) {
      throw badRequest(`Option "${key}" cannot be set over HTTP (${CODE_ONLY[key]}); set it in code`, key);
    }
    const known: readonly string[] = family ? [...RECONFIGURABLE_OVER_HTTP, ...FAMILY_LIMIT_KEYS] : RECONFIGURABLE_OVER_HTTP;
    if (!known.includes(key)) {
      throw badRequest(`Unknown option "${key}"; options settable over HTTP${family ? ' on a family' : ''}: ${known.join(', ')}`, key);
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
