/**
 * When a closed circuit opens: each rule is a small strategy judged after a recorded call (and, for
 * the window rules, on the fleet's window when the breaker shares a store). A breaker keeps the
 * rules its options switch on, in this order; the first that holds names the transition.
 */
import type { ResolvedOptions } from './options.js';
import type { WindowCounts } from './windows/sliding-window.js';

export type TripReason = 'failure_rate' | 'slow_call_rate' | 'consecutive_failures';

export interface TripRule {
  readonly reason: TripReason;
  /** Judged on a window's counts alone, so it also applies to the fleet's window. */
  readonly onWindow: boolean;
  holds(counts: WindowCounts, consecutiveFailures: number, opts: ResolvedOptions): boolean;
}

/** Rates are in percent and compared exactly (`failures * 100 >= threshold * calls`). */
const failureRate: TripRule = {
  reason: 'failure_rate',
  onWindow: true,
  holds: ({ calls, failures }, _, opts) =>
    calls >= opts.minimumCalls && failures >= opts.minimumFailures && failures * 100 >= opts.failureRateThreshold * calls,
};

const slowCallRate: TripRule = {
  reason: 'slow_call_rate',
  onWindow: true,
  holds: ({ calls, slowCalls }, _, opts) => calls >= opts.minimumCalls && slowCalls * 100 >= opts.slowCallRateThreshold * calls,
};

const consecutiveFailures: TripRule = {
  reason: 'consecutive_failures',
  onWindow: false,
  holds: (_, consecutive, opts) => consecutive >= opts.consecutiveFailureThreshold!,
};

/** Every combination of rules, shared by the breakers that use it. */
const COMBINATIONS: readonly (readonly TripRule[])[] = [
  [failureRate],
  [failureRate, slowCallRate],
  [failureRate, consecutiveFailures],
  [failureRate, slowCallRate, consecutiveFailures],
];

/** The rules `opts` switch on. */
export function tripRulesFor(opts: ResolvedOptions): readonly TripRule[] {
  return COMBINATIONS[(opts.slowCallDurationMs !== undefined ? 1 : 0) + (opts.consecutiveFailureThreshold !== undefined ? 2 : 0)]!;
}

/** The first rule that holds, or null. `windowOnly`: judge a window alone (the fleet's). */
export function tripReason(
  rules: readonly TripRule[],
  counts: WindowCounts,
  consecutive: number,
  opts: ResolvedOptions,
  windowOnly = false,
): TripReason | null {
  for (const rule of rules) {
    if ((rule.onWindow || !windowOnly) && rule.holds(counts, consecutive, opts)) return rule.reason;
  }
  return null;
}
