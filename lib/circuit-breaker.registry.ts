import { HttpException, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { LoggerService, OnModuleDestroy } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { CircuitBreaker } from './core/circuit-breaker.js';
import type { CallEvent, StateChangeEvent } from './core/circuit-breaker.js';
import { STATE_TABLE } from './core/states/index.js';
import { CircuitBreakerConfigError } from './core/errors.js';
import { describeCallbackError } from './core/callback-errors.js';
import type { CircuitBreakerSettings } from './core/options.js';
import { SETTING_KEYS, WELL_FORMED, isWellFormed, resolveOptions } from './core/options.js';
import { defaultStoreLogger } from './core/fleet/store.js';
import type { CircuitBreakerStore, FleetOptions, FleetOptionsChange, LiveInstance } from './core/fleet/store.js';
import { fleetOf } from './core/fleet/store-session.js';
import { fleetSettingsFrom } from './core/fleet/fleet-options.js';
import { withFleetSettings } from './core/reconfiguration.js';
import { checkFamilySettingKeys, checkSettingKeys, conflictError, keyNameOrigin, sameSettings } from './breaker-declarations.js';
import type { Declaration } from './breaker-declarations.js';
import { closestName } from './breaker-names.js';
import { BreakerPatterns, isPattern } from './breaker-patterns.js';
import { CircuitBreakerFamily } from './family/circuit-breaker-family.js';
import type { BreakerRetiredEvent } from './family/circuit-breaker-family.js';
import type { CircuitBreakerFamilySettings } from './family/family-options.js';
import { checkFamilyName } from './family/family-options.js';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from './circuit-breaker.module-definition.js';
import { CIRCUIT_BREAKER_ROOT_REGISTRATION } from './circuit-breaker.constants.js';
import type { CircuitBreakerModuleOptions } from './interfaces/circuit-breaker-module-options.interface.js';
import { TransitionLogger } from './transition-logger.js';

/** Nest-layer default: a client error (HttpException below 500) is not the dependency failing. */
export function defaultIsFailure(error: unknown): boolean {
  return !(error instanceof HttpException && error.getStatus() < 500);
}

/**
 * A @UseCircuitBreaker call that failed under its breaker (refused by the circuit, timed out, or a
 * failure the breaker counts), as its caller got it.
 * @internal
 */
export interface FailedCallEvent {
  readonly name: string;
  readonly error: unknown;
  /** The method's fallback answered the caller; false: the error went on to the caller. */
  readonly fallback: boolean;
}

const MODULE_OPTION_KEYS = ['defaults', 'breakers', 'families', 'strict', 'errorFactory', 'logger', 'recordCalls'];

const DEFAULTS_HAVE_NO_NAME =
  'given per breaker: defaults apply to every breaker, each named by its key in breakers or forFeature, or by its decorator';

/**
 * The breakers of one application: those declared by forRoot / forRootAsync / forFeature, and
 * those built from `defaults` for names declared nowhere (unless `strict`). Inject it to look
 * breakers up, list them, or reconfigure them at runtime.
 */
@Injectable()
export class CircuitBreakerRegistry implements OnModuleDestroy {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly declarations = new Map<string, Declaration>();
  /** `breakers` entries whose key has a `*`: options for the names they match. */
  private readonly patterns = new BreakerPatterns();
  private readonly familyMap = new Map<string, CircuitBreakerFamily>();
  private readonly familyDeclarations = new Map<string, Declaration>();
  /** Families built from defaults because something used them without a declaration. */
  private readonly undeclaredFamilyMap = new Map<string, string>();
  private readonly retirements = new Subject<BreakerRetiredEvent>();
  /** Names built from defaults because something used them before (or without) a declaration. */
  private readonly undeclared = new Map<string, string>();
  private readonly changes = new Subject<StateChangeEvent>();
  private readonly callEvents = new Subject<CallEvent>();
  private readonly failures = new Subject<FailedCallEvent>();
  private readonly optionsChanges = new Subject<FleetOptionsChange>();
  /** The onCall unsubscribe function of each breaker, while `calls$` has subscribers. */
  private callDetachers: Map<CircuitBreaker, () => void> | null = null;
  private callSubscribers = 0;
  /** Observers of every breaker, now and later (eachBreaker). */
  private readonly watchers = new Set<BreakerWatcher>();
  private readonly logger: LoggerService | undefined;
  private readonly transitionLogger: TransitionLogger | undefined;

  /** Every state change of every breaker of this application, keyed breakers included (names `family:key`). */
  readonly stateChanges$: Observable<StateChangeEvent> = this.changes.asObservable();

  /**
   * Every fleet options record that reached a breaker of this application (`config_changed`):
   * adopted, or refused because this instance's own options make it invalid. Also logged.
   */
  readonly fleetOptions$: Observable<FleetOptionsChange> = this.optionsChanges.asObservable();

  /** Keyed breakers a family retired (idle, or evicted at `maxKeys`), after they were disposed. */
  readonly retired$: Observable<BreakerRetiredEvent> = this.retirements.asObservable();

  /**
   * Every call event (`breaker.onCall`) of every breaker of this application, including breakers
   * created later. Per-call events cost nothing while nobody listens, so this stream attaches to
   * the breakers only while it has at least one subscriber and detaches when the last one leaves.
   * Events are delivered synchronously, before the call settles: keep subscribers cheap.
   */
  readonly calls$: Observable<CallEvent> = new Observable<CallEvent>((subscriber) => {
    const subscription = this.callEvents.subscribe(subscriber);
    if (this.callSubscribers++ === 0) this.attachCallListeners();
    return () => {
      subscription.unsubscribe();
      if (--this.callSubscribers === 0) this.detachCallListeners();
    };
  });

  /**
   * Every @UseCircuitBreaker call that failed under its breaker, delivered synchronously in the
   * caller's async context when the failure reaches the fallback or the caller (the OpenTelemetry
   * integration marks the active span's status with it). Ignored errors and nested calls are not
   * reported; the fallback's own failure is not either.
   * @internal
   */
  readonly failedCalls$: Observable<FailedCallEvent> = this.failures.asObservable();

  constructor(
    @Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) private readonly options: CircuitBreakerModuleOptions,
    @Optional() @Inject(CIRCUIT_BREAKER_ROOT_REGISTRATION) registration?: string,
  ) {
    validateModuleOptions(options);
    this.logger = options.logger === false ? undefined : (options.logger ?? new Logger('CircuitBreaker'));
    this.transitionLogger = this.logger === undefined ? undefined : new TransitionLogger(this.logger);
    const source = registration ?? 'CircuitBreakerModule.forRoot';
    for (const [name, settings] of Object.entries(options.breakers ?? {})) {
      if (isPattern(name)) this.declarePattern(name, settings, source, false);
      else this.declare(name, settings, source);
    }
    // Every conflicting pair of the registration's patterns at once.
    const conflicts = this.patterns.conflicts();
    if (conflicts !== undefined) throw conflicts;
    for (const [name, settings] of Object.entries(options.families ?? {})) this.declareFamily(name, settings, `${source} families`);
  }

  /** @internal */
  get strict(): boolean {
    return this.options.strict === true;
  }

  /** @internal */
  get moduleOptions(): CircuitBreakerModuleOptions {
    return this.options;
  }

  /**
   * Declares a breaker (forRoot, forFeature, a decorator's options). The same name declared twice
   * must carry the same options; a breaker already built from defaults for that name takes the
   * declared options. `nameIs` says where the name comes from, for the error about a `name` key.
   * A name with `*` is a pattern (see {@link declarePattern}): no breaker is returned for it.
   * @internal
   */
  declare(name: string, settings: CircuitBreakerSettings, source: string, nameIs = keyNameOrigin(name)): CircuitBreaker | undefined {
    if (settings === null || typeof settings !== 'object') {
      throw new CircuitBreakerConfigError(name, 'breakers', settings, 'an object of breaker options');
    }
    if (isPattern(name)) return this.declarePattern(name, settings, source);
    checkSettingKeys(name, settings, source, nameIs);
    this.checkNotFamily(name, source);
    const previous = this.declarations.get(name);
    if (previous !== undefined) {
      if (!sameSettings(previous.settings, settings)) throw conflictError(name, previous, { settings, source });
      return this.breakers.get(name)!;
    }
    this.declarations.set(name, { settings, source });
    const existing = this.breakers.get(name);
    if (existing !== undefined) {
      replaceSettings(existing, this.merge(settings));
      this.undeclared.delete(name);
      return existing;
    }
    return this.build(name, settings);
  }

  /**
   * Declares options for every breaker whose name matches `pattern` and that is not declared by
   * its exact name (see lib/breaker-patterns.ts for matching and specificity). Breakers already
   * built from defaults or a less specific pattern take the new options.
   * @internal
   */
  declarePattern(pattern: string, settings: CircuitBreakerSettings, source: string, checkConflicts = true): undefined {
    if (settings === null || typeof settings !== 'object') {
      throw new CircuitBreakerConfigError(pattern, 'breakers', settings, 'an object of breaker options');
    }
    checkSettingKeys(pattern, settings, source, `every name the pattern ${JSON.stringify(pattern)} matches`);
    resolveOptions({ ...this.merge(settings), name: pattern });
    const previous = this.patterns.get(pattern);
    if (previous !== undefined) {
      if (!sameSettings(previous.settings, settings)) throw conflictError(pattern, previous, { settings, source });
      return undefined;
    }
    this.patterns.add(pattern, { settings, source }, checkConflicts);
    for (const [name, breaker] of this.breakers) {
      if (this.declarations.has(name) || this.patterns.match(name)?.pattern !== pattern) continue;
      replaceSettings(breaker, this.merge(settings));
      this.undeclared.delete(name);
    }
    return undefined;
  }

  /**
   * Declares a family of keyed breakers (forRoot `families`, a keyed decorator's options). The
   * same name declared twice must carry the same options; a name is a breaker or a family, not both.
   * @internal
   */
  declareFamily(name: string, settings: CircuitBreakerFamilySettings, source: string): CircuitBreakerFamily {
    checkFamilyName(name);
    if (settings === null || typeof settings !== 'object' || Array.isArray(settings)) {
      throw new CircuitBreakerConfigError(name, 'families', settings, 'an object of breaker options and family limits (maxKeys, idleTtlMs)');
    }
    checkFamilySettingKeys(name, settings, source);
    const breakerDeclaration = this.declarations.get(name);
    if (breakerDeclaration !== undefined || this.breakers.has(name)) {
      throw new CircuitBreakerConfigError(
        name,
        'name',
        name,
        `a name used either for one breaker or for a family of keyed breakers, not both: "${name}" is a breaker ` +
          `(${breakerDeclaration?.source ?? 'built from defaults'}) and ${source} declares a family of that name; rename one of them`,
      );
    }
    const previous = this.familyDeclarations.get(name);
    if (previous !== undefined) {
      if (!sameSettings(previous.settings, settings)) throw conflictError(name, previous, { settings, source }, 'families');
      return this.familyMap.get(name)!;
    }
    const existing = this.familyMap.get(name);
    // Validated before it is recorded: an invalid declaration changes nothing.
    const family = existing ?? this.buildFamily(name, settings);
    if (existing !== undefined) existing.reconfigure(this.merge(settings));
    this.familyDeclarations.set(name, { settings, source });
    this.undeclaredFamilyMap.delete(name);
    return family;
  }

  /**
   * The family of keyed breakers named `name`: `registry.family('shards').execute(key, fn)`. A name
   * declared nowhere gets a family built from `defaults` and the default limits (`strict` mode
   * rejects such names used by decorators at bootstrap).
   */
  family(name: string, usedBy = 'CircuitBreakerRegistry.family'): CircuitBreakerFamily {
    const family = this.familyMap.get(name);
    if (family !== undefined) return family;
    checkFamilyName(name);
    if (this.declarations.has(name) || this.breakers.has(name)) {
      throw new CircuitBreakerConfigError(
        name,
        'name',
        name,
        `a family name: "${name}" is a breaker (${this.declarations.get(name)?.source ?? 'built from defaults'}), and a name is one breaker or a family, ` +
          `not both (used as a family by ${usedBy}); declare the family under another name in families`,
      );
    }
    this.undeclaredFamilyMap.set(name, usedBy);
    return this.buildFamily(name, {});
  }

  hasFamily(name: string): boolean {
    return this.familyMap.has(name);
  }

  /** @internal */
  isFamilyDeclared(name: string): boolean {
    return this.familyDeclarations.has(name);
  }

  /** Every family of keyed breakers of this application. */
  families(): CircuitBreakerFamily[] {
    return [...this.familyMap.values()];
  }

  /** Families used without a declaration, with who used them (strict-mode check at bootstrap). @internal */
  undeclaredFamilies(): ReadonlyMap<string, string> {
    return this.undeclaredFamilyMap;
  }

  /**
   * The breaker named `name` if it exists: a breaker of `getAll()`, or the breaker of a key of a
   * family (`family:key`). Never builds one.
   */
  find(name: string): CircuitBreaker | undefined {
    const breaker = this.breakers.get(name);
    if (breaker !== undefined || typeof name !== 'string') return breaker;
    const colon = name.indexOf(':');
    if (colon <= 0) return undefined;
    return this.familyMap.get(name.slice(0, colon))?.find(name.slice(colon + 1));
  }

  /** In strict mode, every family a keyed decorator uses must be declared by the time the application bootstraps. @internal */
  assertFamilyDeclared(name: string, usedBy: string): void {
    if (!this.strict || this.familyDeclarations.has(name)) return;
    const meant = closestName(name, [...this.familyDeclarations.keys()]);
    throw new CircuitBreakerConfigError(
      name,
      'name',
      name,
      `a family declared by CircuitBreakerModule.forRoot({ families }), forRootAsync or a keyed @UseCircuitBreaker decorator's options ` +
        `(strict mode; used by ${usedBy}${meant === undefined ? '' : `. Did you mean "${meant}"?`})`,
    );
  }

  private checkNotFamily(name: string, source: string): void {
    if (!this.familyMap.has(name)) return;
    throw new CircuitBreakerConfigError(
      name,
      'name',
      name,
      `a name used either for one breaker or for a family of keyed breakers, not both: "${name}" is a family ` +
        `(${this.familyDeclarations.get(name)?.source ?? 'built from defaults'}) and ${source} declares a breaker of that name; rename one of them`,
    );
  }

  /**
   * The breaker named `name`. A name declared nowhere gets a breaker built from `defaults`
   * (`strict` mode rejects such names at bootstrap, see `assertDeclared`).
   */
  get(name: string, usedBy = 'CircuitBreakerRegistry.get'): CircuitBreaker {
    const breaker = this.breakers.get(name);
    if (breaker !== undefined) return breaker;
    if (typeof name !== 'string' || name.length === 0) {
      throw new CircuitBreakerConfigError(String(name), 'name', name, 'a non-empty string');
    }
    // Before the name is remembered as undeclared: a name no breaker can have is not listed anywhere.
    if (!isWellFormed(name)) throw new CircuitBreakerConfigError(name, 'name', name, WELL_FORMED);
    this.checkNotFamily(name, usedBy);
    const pattern = this.patterns.match(name);
    if (pattern !== undefined) return this.build(name, pattern.settings);
    this.undeclared.set(name, usedBy);
    return this.build(name, {});
  }

  has(name: string): boolean {
    return this.breakers.has(name);
  }

  /** Declared by its exact name, or by a pattern that matches it. */
  isDeclared(name: string): boolean {
    return this.declarations.has(name) || (this.patterns.size > 0 && this.patterns.match(name) !== undefined);
  }

  /** The names declared by forRoot / forRootAsync / forFeature / decorators' options. */
  declaredNames(): string[] {
    return [...this.declarations.keys()];
  }

  /**
   * A bootstrap warning through the module's logger (`logger: false` silences it).
   * @internal
   */
  warn(message: string): void {
    this.logger?.warn(message);
  }

  /**
   * Runs a manual action (forceOpen, reset...) so that the transition log names who made it, e.g.
   * `over the admin API`; without this, a manual transition is logged as made in code.
   * @internal
   */
  operateByHand<T>(actor: string, action: () => T): T {
    return this.transitionLogger === undefined ? action() : this.transitionLogger.by(actor, action);
  }

  /** Someone listens to failedCalls$ (decorated calls check it before classifying a failure). @internal */
  get watchesFailedCalls(): boolean {
    return this.failures.observed;
  }

  /** @internal */
  reportFailedCall(event: FailedCallEvent): void {
    this.failures.next(event);
  }

  /** Every breaker of this application except the keyed ones (see {@link families}). */
  getAll(): CircuitBreaker[] {
    return [...this.breakers.values()];
  }

  /**
   * Applies new options to a running breaker, validated first (an invalid value throws and changes
   * nothing). Throws if no breaker has that name.
   */
  reconfigure(name: string, settings: CircuitBreakerSettings): CircuitBreaker;
  /**
   * Fleet-wide: merges `settings` into the breaker's fleet options record (`null` removes an
   * option from it), validates the result against this instance's options, writes it to the
   * breaker's store under the next version and applies it here; every other instance using the
   * breaker adopts it with its next sync (and logs the version and `source`), and instances started
   * later begin with it. Precedence: code defaults < module options < fleet record. Only options
   * JSON can express (no functions, clock, store or healthCheck) can be fleet-wide. Rejects with a
   * {@link CircuitBreakerConfigError} (nothing written) for a bad option, a breaker without a store
   * that keeps fleet options, or when the store does not answer.
   */
  reconfigure(name: string, settings: Readonly<Record<string, unknown>>, scope: FleetScope): Promise<FleetOptions>;
  reconfigure(name: string, settings: CircuitBreakerSettings, scope?: FleetScope): CircuitBreaker | Promise<FleetOptions> {
    const breaker = this.breakers.get(name);
    if (scope !== undefined && scope !== null && scope.fleet === true) {
      if (breaker === undefined) return Promise.reject(new Error(`Circuit breaker "${name}" does not exist`));
      return writeFleetOptions(breaker, settings, scope.source ?? 'CircuitBreakerRegistry.reconfigure');
    }
    if (breaker === undefined) throw new Error(`Circuit breaker "${name}" does not exist`);
    if (settings !== null && typeof settings === 'object') {
      checkSettingKeys(name, settings, 'CircuitBreakerRegistry.reconfigure', `fixed when the breaker is created ("${name}"; a breaker cannot be renamed)`);
    }
    breaker.reconfigure(settings);
    return breaker;
  }

  /**
   * The fleet view: every live instance (from the heartbeats each instance writes to the store
   * every few sync intervals) and its view of each breaker it uses (state, rates, calls, store
   * status), for every store this application's breakers use. This instance is marked `self`. A
   * store that keeps no heartbeats, or does not answer within its command timeout, contributes
   * nothing (`unreachableStores` counts those that did not answer). Reads the store: not for a
   * call's path.
   */
  async fleet(): Promise<FleetView> {
    const stores = new Set<CircuitBreakerStore>();
    for (const breaker of this.breakers.values()) if (breaker.options.store !== undefined) stores.add(breaker.options.store);
    for (const family of this.familyMap.values()) for (const breaker of family.breakers()) if (breaker.options.store !== undefined) stores.add(breaker.options.store);
    const instances: FleetInstance[] = [];
    let unreachableStores = 0;
    for (const store of stores) {
      if (typeof store.instances !== 'function') continue;
      const live = await fleetOf(store);
      if (live === undefined) unreachableStores++;
      else instances.push(...live);
    }
    instances.sort((a, b) => (a.self !== b.self ? (a.self ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { instances, unreachableStores };
  }

  /**
   * In strict mode, every name used must be declared by the time the application bootstraps.
   * `usedBy` lists the decorators and injecting classes that use it.
   * @internal
   */
  assertDeclared(name: string, usedBy: string): void {
    if (!this.strict || this.isDeclared(name)) return;
    const meant = closestName(name, this.declaredNames());
    throw new CircuitBreakerConfigError(
      name,
      'name',
      name,
      `a breaker declared by CircuitBreakerModule.forRoot, forRootAsync, forFeature or a @UseCircuitBreaker decorator's options ` +
        `(strict mode; used by ${usedBy}${meant === undefined ? '' : `. Did you mean "${meant}"?`})`,
    );
  }

  /** Drops a breaker built from defaults that this application turned out not to use. @internal */
  forget(name: string): void {
    if (this.isDeclared(name)) return;
    const breaker = this.breakers.get(name);
    if (breaker !== undefined) {
      this.callDetachers?.get(breaker)?.();
      this.callDetachers?.delete(breaker);
      for (const watcher of this.watchers) watcher.retired(breaker);
    }
    breaker?.dispose();
    this.breakers.delete(name);
    this.undeclared.delete(name);
  }

  /** Names used without a declaration, with who used them (strict-mode check at bootstrap). @internal */
  undeclaredNames(): ReadonlyMap<string, string> {
    return this.undeclared;
  }

  onModuleDestroy(): void {
    for (const breaker of this.breakers.values()) breaker.dispose();
    for (const family of this.familyMap.values()) family.dispose();
    this.changes.complete();
    this.callEvents.complete();
    this.retirements.complete();
    this.failures.complete();
    this.optionsChanges.complete();
    this.detachCallListeners();
  }

  /**
   * Calls `created` for every breaker of this application now, then for each one created later
   * (keyed breakers included), and `retired` for a keyed breaker its family retires. Returns the
   * function that stops it. (recordCalls uses it.)
   * @internal
   */
  eachBreaker(created: (breaker: CircuitBreaker) => void, retired: (breaker: CircuitBreaker) => void): () => void {
    const watcher: BreakerWatcher = { created, retired };
    this.watchers.add(watcher);
    for (const breaker of this.breakers.values()) created(breaker);
    for (const family of this.familyMap.values()) for (const breaker of family.breakers()) created(breaker);
    return () => {
      this.watchers.delete(watcher);
    };
  }

  private attachCallListeners(): void {
    this.callDetachers = new Map();
    for (const breaker of this.breakers.values()) this.attachCallListener(breaker);
    for (const family of this.familyMap.values()) for (const breaker of family.breakers()) this.attachCallListener(breaker);
  }

  private attachCallListener(breaker: CircuitBreaker): void {
    this.callDetachers?.set(breaker, breaker.onCall((event) => this.callEvents.next(event)));
  }

  private detachCallListeners(): void {
    const detachers = this.callDetachers;
    this.callDetachers = null;
    if (detachers !== null) for (const detach of detachers.values()) detach();
  }

  private merge(settings: CircuitBreakerSettings): CircuitBreakerSettings {
    return { isFailure: defaultIsFailure, ...this.options.defaults, ...settings };
  }

  private buildFamily(name: string, settings: CircuitBreakerFamilySettings): CircuitBreakerFamily {
    const logger = this.logger;
    const family = new CircuitBreakerFamily({
      ...this.merge(settings),
      name,
      onWarning: (message, code) => (logger === undefined ? process.emitWarning(message, { code }) : logger.warn(message)),
    });
    this.familyMap.set(name, family);
    family.onCreate((breaker) => {
      this.prepare(breaker);
      if (this.callDetachers !== null) this.attachCallListener(breaker);
      for (const watcher of this.watchers) watcher.created(breaker);
    });
    family.onStateChange((event) => {
      const breaker = family.find(event.name.slice(name.length + 1));
      if (breaker !== undefined) this.transitionLogger?.log(breaker, event);
      this.changes.next(event);
    });
    family.onRetire((event) => {
      this.callDetachers?.get(event.breaker)?.();
      this.callDetachers?.delete(event.breaker);
      for (const watcher of this.watchers) watcher.retired(event.breaker);
      this.retirements.next(event);
    });
    return family;
  }

  /** The app's logger for a breaker's callback errors, and for its store's outages. */
  private prepare(breaker: CircuitBreaker): void {
    const logger = this.logger;
    if (logger !== undefined) breaker.onInternalError = (error, where) => logger.error(describeCallbackError(error, where, true));
    const link = breaker.link; // null without a store: no fleet events to report
    if (link !== null) link.onFleetOptions = (change) => this.optionsChanges.next(change);
    // This app's breaker reports its fleet events (options adopted) to this app's logger, whichever app set the store's.
    if (link !== null && logger !== undefined) link.fleetLog = { warn: (message) => logger.warn(message), log: (message) => logger.log(message) };
    // A store still on its default sink reports its outages through the app's logger instead.
    const store = breaker.options.store;
    if (logger !== undefined && store !== undefined && store.logger === defaultStoreLogger) {
      store.logger = { warn: (message) => logger.warn(message), log: (message) => logger.log(message) };
    }
  }

  private build(name: string, settings: CircuitBreakerSettings): CircuitBreaker {
    const breaker = new CircuitBreaker({ ...this.merge(settings), name });
    this.breakers.set(name, breaker);
    this.prepare(breaker);
    breaker.onStateChange((event) => {
      this.transitionLogger?.log(breaker, event);
      this.changes.next(event);
    });
    if (this.callDetachers !== null) this.attachCallListener(breaker);
    for (const watcher of this.watchers) watcher.created(breaker);
    return breaker;
  }
}

interface BreakerWatcher {
  readonly created: (breaker: CircuitBreaker) => void;
  readonly retired: (breaker: CircuitBreaker) => void;
}

/** Gives a breaker exactly `settings` (options it had and `settings` lacks go back to their defaults). */
function replaceSettings(breaker: CircuitBreaker, settings: CircuitBreakerSettings): void {
  const next: Record<string, unknown> = { ...settings };
  for (const key of SETTING_KEYS) if (!(key in next) && key !== 'store' && key !== 'clock') next[key] = undefined;
  breaker.reconfigure(next as CircuitBreakerSettings);
}

/** One live instance of the fleet view: its heartbeat, how old it is, whether it is this instance. */
export interface FleetInstance extends LiveInstance {
  readonly self: boolean;
}

/** `registry.fleet()`. */
export interface FleetView {
  /** This instance first, then the others by id. */
  readonly instances: readonly FleetInstance[];
  /** Stores that keep heartbeats but did not answer. */
  readonly unreachableStores: number;
}

/** `registry.reconfigure(name, settings, { fleet: true })`: the options go to every instance. */
export interface FleetScope {
  readonly fleet: true;
  /** Named in the log line of every instance that adopts the record. Default `CircuitBreakerRegistry.reconfigure`. */
  readonly source?: string;
}

async function writeFleetOptions(breaker: CircuitBreaker, settings: unknown, source: string): Promise<FleetOptions> {
  const name = breaker.name;
  const given = fleetSettingsFrom(name, settings);
  const store = breaker.options.store;
  if (store === undefined || breaker.link === null || typeof store.writeOptions !== 'function') {
    throw new CircuitBreakerConfigError(name, 'store', store, 'a store that keeps fleet options (RedisCircuitBreakerStore, InMemoryCircuitBreakerStore) for fleet-wide options');
  }
  const merged: Record<string, unknown> = { ...(breaker.link.fleetOptions?.settings ?? {}), ...given };
  for (const [key, value] of Object.entries(settings as Record<string, unknown>)) if (value === null || value === undefined) delete merged[key];
  withFleetSettings(breaker, merged); // validated before it is written: a bad record never reaches peers
  const record = await breaker.link.writeOptions(merged, source);
  if (record === undefined) {
    throw new Error(`Circuit breaker "${name}": the store did not answer, so the fleet options were not written (this instance's options are unchanged)`);
  }
  return record;
}

/**
 * The module options are an object: the one error for `forRoot(null)` (checked when forRoot is
 * called, before anything reads them) and for a `forRootAsync` factory that returns null.
 */
export function checkModuleOptionsObject(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new CircuitBreakerConfigError('(module)', 'CircuitBreakerModule options', options, 'an object');
  }
}

function validateModuleOptions(options: CircuitBreakerModuleOptions): void {
  checkModuleOptionsObject(options);
  for (const key of Object.keys(options)) {
    if (!MODULE_OPTION_KEYS.includes(key)) {
      throw new CircuitBreakerConfigError('(module)', key, (options as Record<string, unknown>)[key], `absent (known module options: ${MODULE_OPTION_KEYS.join(', ')}, isGlobal)`);
    }
  }
  if (options.strict !== undefined && typeof options.strict !== 'boolean') {
    throw new CircuitBreakerConfigError('(module)', 'strict', options.strict, 'a boolean');
  }
  if (options.errorFactory !== undefined && typeof options.errorFactory !== 'function') {
    throw new CircuitBreakerConfigError('(module)', 'errorFactory', options.errorFactory, 'a function');
  }
  if (options.breakers !== undefined && (options.breakers === null || typeof options.breakers !== 'object' || Array.isArray(options.breakers))) {
    throw new CircuitBreakerConfigError('(module)', 'breakers', options.breakers, 'an object mapping breaker names to options');
  }
  if (options.families !== undefined && (options.families === null || typeof options.families !== 'object' || Array.isArray(options.families))) {
    throw new CircuitBreakerConfigError('(module)', 'families', options.families, 'an object mapping family names to options');
  }
  if (options.defaults !== undefined) {
    if (options.defaults === null || typeof options.defaults !== 'object' || Array.isArray(options.defaults)) {
      throw new CircuitBreakerConfigError('(defaults)', 'defaults', options.defaults, 'an object of breaker options');
    }
    checkSettingKeys('(defaults)', options.defaults, 'CircuitBreakerModule defaults', DEFAULTS_HAVE_NO_NAME);
    resolveOptions({ ...options.defaults, name: '(defaults)' });
  }
}

