/**
 * The one warning a breaker gives when a threshold looks like a ratio (0.5 meant as 50 %), and its
 * muting while a family builds a key's breaker: the family gives the warning once under its own
 * name instead of once per key. Not on any call's path: a breaker asks only after a change of
 * state or options, and only until it has warned.
 */
import type { ResolvedOptions } from './options.js';

/**
 * Thresholds are percent: one in (0, 1) is accepted but most likely meant as a ratio (0.5 for
 * 50 %). Returns the warning to give once per breaker, or undefined.
 */
export function ratioThresholdWarning(opts: ResolvedOptions, subject = `Circuit breaker "${opts.name}"`): string | undefined {
  const suspicious: string[] = [];
  if (opts.failureRateThreshold < 1) suspicious.push(`failureRateThreshold ${opts.failureRateThreshold}`);
  if (opts.slowCallDurationMs !== undefined && opts.slowCallRateThreshold < 1) suspicious.push(`slowCallRateThreshold ${opts.slowCallRateThreshold}`);
  if (suspicious.length === 0) return undefined;
  return (
    `${subject}: ${suspicious.join(' and ')} looks like a ratio, but thresholds are in percent ` +
    `(${suspicious.length === 1 ? 'it trips' : 'they trip'} at under 1 %); write 50 for 50 %`
  );
}

/** Set while a family builds a key's breaker (see {@link withoutRatioWarning}). */
let muted = false;

/**
 * Builds breakers that never give the ratio-threshold warning themselves (the keys of a family,
 * which gives it once under its own name instead of once per key).
 * @internal
 */
export function withoutRatioWarning<T>(build: () => T): T {
  muted = true;
  try {
    return build();
  } finally {
    muted = false;
  }
}

/** Whether a breaker built now must stay silent (it counts as having warned already). */
export function ratioWarningMuted(): boolean {
  return muted;
}

/** Gives {@link ratioThresholdWarning}'s warning, if any, as a process warning; returns whether it did. */
export function warnIfRatioThreshold(opts: ResolvedOptions): boolean {
  const warning = ratioThresholdWarning(opts);
  if (warning === undefined) return false;
  process.emitWarning(warning, { code: 'CIRCUIT_BREAKER_THRESHOLD_RATIO' });
  return true;
}
