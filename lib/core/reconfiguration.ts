/**
 * `breaker.reconfigure(settings)`: new options without a restart. The merged options are validated
 * first (an invalid value throws and changes nothing); what depends on them (trip rules, window,
 * classifier cache, half-open capacity, health polling, execute's fast path) follows.
 */
import type { CircuitBreaker } from './circuit-breaker.js';
import { windowClock } from './coarse-clock.js';
import { CircuitBreakerConfigError } from './errors.js';
import { HealthPoller } from './health-poller.js';
import type { CircuitBreakerOptions, CircuitBreakerSettings } from './options.js';
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
  const next = resolveOptions(merged);
  const previous = breaker.opts;
  if (next.store !== previous.store) {
    throw new CircuitBreakerConfigError(name, 'store', settings.store, 'the store the breaker was created with (a store cannot change at runtime)');
  }
  // Built before anything changes: a shadow the engine refuses leaves the breaker as it was.
  const shadows = next.shadows === undefined ? null : new ShadowSet(breaker, merged, next.shadows);
  breaker.shadowSet?.dispose();
  breaker.shadowSet = shadows;
  breaker.given = merged;
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
