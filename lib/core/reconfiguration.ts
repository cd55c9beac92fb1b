/**
 * `breaker.reconfigure(settings)`: new options without a restart. The merged options are validated
 * first (an invalid value throws and changes nothing); what depends on them (trip rules, window,
 * classifier cache, half-open capacity, health polling, execute's fast path) follows.
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import { windowClock } from './coarse-clock.js';
import type { StoreLink } from './fleet/store-link.js';
import type { FleetOptions } from './fleet/store.js';
import { CircuitBreakerConfigError } from './errors.js';
import { HealthPoller } from './health-poller.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings, ResolvedOptions } from './options.js';
import { resolveOptions } from './options.js';
import { ShadowSet } from './shadows.js';
import { tripRulesFor } from './trip-rules.js';
import { createWindow, sameWindow } from './windows/index.js';

export function reconfigureBreaker(breaker: CircuitBreaker, settings: CircuitBreakerSettings): void {
  const name = breaker.name;
  if (settings === null || typeof settings !== 'object') {
    throw new CircuitBreakerConfigError(name, 'options', settings, 'an object of the options to change');
  }
  if (Object.hasOwn(settings, 'name')) {
    // The name is the breaker's identity: registry key, store key, metric label.
    const given = (settings as { name?: unknown }).name;
    throw new CircuitBreakerConfigError(name, 'name', given, "absent from reconfigure(): a breaker's name is its identity and never changes (create another breaker for another name)");
  }
  const merged: CircuitBreakerOptions = { ...breaker.given, ...settings, name };
  for (const key of Object.keys(settings) as (keyof CircuitBreakerSettings)[]) {
    if (settings[key] === undefined) delete merged[key];
  }
  // The fleet's record (when there is one) stays on top of the breaker's own options.
  const fleet = breaker.link === null ? null : breaker.link.fleetOptions;
  const effective = fleet === null ? merged : ({ ...merged, ...fleet.settings, name } as CircuitBreakerOptions);
  const next = resolveOptions(effective);
  if (next.store !== breaker.opts.store) {
    throw new CircuitBreakerConfigError(name, 'store', settings.store, 'the store the breaker was created with (a store cannot change at runtime)');
  }
  const shadows = shadowsFor(breaker, effective, next);
  breaker.given = merged;
  applyOptions(breaker, next, shadows);
}

/**
 * The shadow configurations for new options, built before anything changes (a shadow the engine
 * refuses throws and leaves the breaker as it was). Shadows are partial options over the enforced
 * ones, so new enforced options give them a fresh would-be state.
 */
export function shadowsFor(breaker: CircuitBreaker, effective: CircuitBreakerOptions, next: ResolvedOptions): ShadowSet | null {
  return next.shadows === undefined ? null : new ShadowSet(breaker, effective, next.shadows);
}

/** Puts validated options in force, and with them what depends on them. */
export function applyOptions(breaker: CircuitBreaker, next: ResolvedOptions, shadows: ShadowSet | null): void {
  const previous = breaker.opts;
  breaker.shadowSet?.dispose();
  breaker.shadowSet = shadows;
  breaker.opts = next;
  breaker.rules = tripRulesFor(next);
  if (previous.isFailure !== next.isFailure) breaker.classifier.forget();
  if (!sameWindow(previous.slidingWindow, next.slidingWindow)) breaker.window = createWindow(next.slidingWindow);
  breaker.clockOfWindow = windowClock(next.clock, breaker.window.sliceMs);
  breaker.trials?.resize(next.halfOpenMaxCalls);
  breaker.settle();
  const healthChanged =
    previous.healthCheck?.check !== next.healthCheck?.check || previous.healthCheck?.intervalMs !== next.healthCheck?.intervalMs;
  if (breaker.state === 'open' && healthChanged) {
    breaker.health?.stop();
    if (next.healthCheck !== undefined) (breaker.health ??= new HealthPoller(breaker)).start(next.clock.now());
  }
}

/**
 * The breaker's options with `settings` on top (code defaults < own options < fleet record),
 * validated: throws {@link CircuitBreakerConfigError} and changes nothing if they are invalid.
 */
export function withFleetSettings(breaker: CircuitBreaker, settings: Readonly<Record<string, unknown>>): ResolvedOptions {
  return resolveOptions({ ...breaker.given, ...settings, name: breaker.name } as CircuitBreakerOptions);
}

/**
 * The fleet's options record over the breaker's own options (validated first; throws if invalid).
 * The store link that received it keeps it in force (reconfigure and snapshot read it there).
 */
export function applyFleetOptions(breaker: CircuitBreaker, link: StoreLink, record: FleetOptions): void {
  const effective = { ...breaker.given, ...record.settings, name: breaker.name } as CircuitBreakerOptions;
  const next = resolveOptions(effective);
  const shadows = shadowsFor(breaker, effective, next);
  link.fleetOptions = record;
  applyOptions(breaker, next, shadows);
}
