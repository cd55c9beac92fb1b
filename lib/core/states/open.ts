/**
 * open: calls are rejected at once. The next call after the open duration moves the circuit to
 * half_open (lazily: no timer); with a `healthCheck`, a passing check does instead. Each opening
 * without a close in between waits longer when `openDurationBackoff` is set.
 */
import type { ResolvedOptions } from '../options.js';
import { MAX_TIMER_MS } from '../validator.js';
import { HealthPoller } from '../health-poller.js';
import { NOT_PERMITTED, ceilMs, defineState } from './state.js';
import type { StateHost } from './state.js';

/** The k-th consecutive opening waits min(openDurationMs * multiplier^(k-1), maxMs), less jitter. */
export function openDuration(opts: ResolvedOptions, k: number): number {
  const backoff = opts.openDurationBackoff;
  if (backoff === undefined) return opts.openDurationMs;
  const duration = Math.min(opts.openDurationMs * Math.pow(backoff.multiplier, k - 1), backoff.maxMs);
  return backoff.jitter === 0 ? duration : duration - duration * backoff.jitter * Math.random();
}

/** When the next call may be admitted: the next health poll while polling, else the end of the open duration. */
function reopensAt(host: StateHost): number {
  const health = host.health;
  return health !== null && health.active ? health.nextPollAt : host.openUntil;
}

/** What `retryAfterMs` reads from the failure that opened the circuit (0: no hint). */
function askedToWaitMs(host: StateHost, cause: unknown): number {
  const hint = host.opts.retryAfterMs;
  if (hint === undefined || cause === undefined) return 0;
  let ms: unknown;
  try {
    ms = hint(cause);
  } catch (error) {
    host.onInternalError(error, `retryAfterMs of circuit breaker "${host.name}"`);
    return 0;
  }
  return typeof ms === 'number' && ms > 0 ? Math.min(ms, MAX_TIMER_MS) : 0;
}

export const open = defineState({
  name: 'open',
  holds: () => false, // admits no call
  acquire(host) {
    const now = host.now();
    if (host.health !== null && host.health.active) {
      host.rejectRetryAfterMs = ceilMs(host.health.nextPollAt - now);
      return NOT_PERMITTED;
    }
    if (now < host.openUntil) {
      host.rejectRetryAfterMs = ceilMs(host.openUntil - now);
      return NOT_PERMITTED;
    }
    host.transition('half_open', 'open_duration_elapsed', now);
    // A state-change listener may have moved the circuit again: ask whatever state it is in now.
    return host.acquire();
  },
  enter(host, _from, _reason, nowMs, cause) {
    host.openings++;
    const link = host.link;
    const adopted = link === null ? null : link.adopted;
    if (link !== null) link.adopted = null; // a listener's own transition later is this instance's, not the fleet's
    if (adopted !== null) {
      host.openStreak = adopted.openStreak;
      host.openedAt = adopted.openedAt;
      host.openUntil = adopted.openUntil;
      host.openCause = undefined;
    } else {
      host.openStreak++;
      host.openedAt = nowMs;
      host.openUntil = nowMs + Math.max(openDuration(host.opts, host.openStreak), askedToWaitMs(host, cause));
      host.openCause = cause;
    }
    host.consecutiveFailures = 0;
    if (host.opts.healthCheck !== undefined) host.health ??= new HealthPoller(host);
    host.health?.start(nowMs);
  },
  leave(host) {
    host.health?.stop();
  },
  describe: (host, nowMs) => ({ retryAfterMs: ceilMs(reopensAt(host) - nowMs), openedAt: host.openedAt }),
});
