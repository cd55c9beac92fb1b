/**
 * `suggest`: replays a trace through a small grid of configurations (failure threshold, minimum
 * calls, window, open duration) and keeps those on the best trade-off (the Pareto front) between
 * failed calls admitted (protection missed) and successful calls rejected (protection's cost): a
 * configuration is on the front when no other does at least as well on both counts and better on
 * one.
 */
import type { SlidingWindowOptions } from '../core/index.js';
import { CandidateConfigError, candidateConfig } from './candidate-config.js';
import type { CandidateConfig, ReplaySettings } from './candidate-config.js';
import { replayTrace } from './replay.js';
import type { TraceSummary } from './replay.js';
import type { ReplayResult } from './replay-result.js';
import type { TraceInput, TraceReaderOptions } from './trace-reader.js';

/** The values tried for each option; every combination is replayed. */
export interface SuggestGrid {
  readonly failureRateThreshold: readonly number[];
  readonly minimumCalls: readonly number[];
  readonly slidingWindow: readonly SlidingWindowOptions[];
  readonly openDurationMs: readonly number[];
}

/** 3 x 3 x 4 x 4 = 144 configurations. */
export const DEFAULT_SUGGEST_GRID: SuggestGrid = {
  failureRateThreshold: [25, 50, 75],
  minimumCalls: [5, 20, 50],
  slidingWindow: [
    { type: 'count', size: 50 },
    { type: 'count', size: 200 },
    { type: 'time', durationMs: 10_000 },
    { type: 'time', durationMs: 60_000 },
  ],
  openDurationMs: [5_000, 15_000, 30_000, 60_000],
};

export interface SuggestOptions extends TraceReaderOptions {
  /** Only this breaker's calls. Default: every breaker of the trace, each on its own. */
  readonly breaker?: string;
  /** At most this many suggestions per breaker, spread along the front. Default 5. */
  readonly top?: number;
  /** Default {@link DEFAULT_SUGGEST_GRID}. */
  readonly grid?: SuggestGrid;
  /** Options every configuration shares (e.g. your `timeoutMs`); the grid's values override them. */
  readonly base?: CandidateConfig;
}

/** One configuration and what it did. */
export interface Suggestion {
  /** The options, ready to paste into `breakers: { name: {...} }` or a replay config file. */
  readonly options: ReplaySettings;
  readonly result: ReplayResult;
}

export interface BreakerSuggestions {
  readonly breaker: string;
  /** The engine's defaults (with the base options), for comparison. */
  readonly defaults: Suggestion;
  /**
   * `defaults` (your base options) are on the best trade-off themselves: no configuration of the
   * grid does better on both counts (nor as well with fewer flaps or openings).
   */
  readonly defaultsOnFront: boolean;
  /**
   * Every configuration of the grid on the front, fewest failed calls admitted first. `defaults`
   * take part in the comparison: a configuration they match or beat on both counts is left out,
   * so every one listed does better than them on at least one count.
   */
  readonly front: readonly Suggestion[];
  /** At most `top` of them, spread from the most protective to the cheapest. */
  readonly suggested: readonly Suggestion[];
}

export interface SuggestReport {
  readonly trace: TraceSummary;
  /** How many configurations were replayed per breaker (the grid, plus the defaults). */
  readonly configurations: number;
  /** The label of the base options every configuration shares, or null. */
  readonly base: string | null;
  readonly breakers: readonly BreakerSuggestions[];
}

const DEFAULTS_LABEL = 'defaults';

/** Every configuration of the grid, in a fixed order, on top of `base`. Combinations the engine refuses are left out. */
export function gridConfigs(grid: SuggestGrid = DEFAULT_SUGGEST_GRID, base: ReplaySettings = {}): CandidateConfig[] {
  const configs: CandidateConfig[] = [];
  const others: ReplaySettings = { ...base };
  for (const key of Object.keys(grid) as (keyof SuggestGrid)[]) delete others[key];
  for (const slidingWindow of grid.slidingWindow) {
    for (const failureRateThreshold of grid.failureRateThreshold) {
      for (const minimumCalls of grid.minimumCalls) {
        for (const openDurationMs of grid.openDurationMs) {
          // The grid's options first, then the base's others: one key order for every suggestion.
          const settings: ReplaySettings = { slidingWindow, failureRateThreshold, minimumCalls, openDurationMs, ...others };
          const label = `${describeWindow(slidingWindow)}, ${failureRateThreshold} %, min ${minimumCalls} calls, open ${openDurationMs / 1000} s`;
          try {
            configs.push(candidateConfig(label, settings));
          } catch (error) {
            // e.g. minimumCalls above a count window's size: a gate the window could never reach
            if (!(error instanceof CandidateConfigError)) throw error;
          }
        }
      }
    }
  }
  return configs;
}

function describeWindow(window: SlidingWindowOptions): string {
  return window.type === 'count' ? `last ${window.size} calls` : `last ${window.durationMs / 1000} s`;
}

/**
 * The Pareto front of `points` on (failedCallsAdmitted, rejectedWouldSucceed), both minimised,
 * fewest failed calls admitted first. Of configurations with equal counts, the one with fewer
 * flaps, then fewer openings, then the earlier one stays.
 */
export function paretoFront<T extends { readonly result: ReplayResult }>(points: readonly T[]): T[] {
  const order = points
    .map((point, index) => ({ point, index }))
    .sort((a, b) => {
      const x = a.point.result;
      const y = b.point.result;
      return (
        x.failedCallsAdmitted - y.failedCallsAdmitted ||
        x.rejectedWouldSucceed - y.rejectedWouldSucceed ||
        x.flaps - y.flaps ||
        x.openings - y.openings ||
        a.index - b.index
      );
    });
  const front: T[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (const { point } of order) {
    if (point.result.rejectedWouldSucceed < best) {
      front.push(point);
      best = point.result.rejectedWouldSucceed;
    }
  }
  return front;
}

/** At most `top` items, evenly spread from the first to the last. */
export function spread<T>(items: readonly T[], top: number): T[] {
  if (items.length <= top) return [...items];
  if (top <= 1) return items.slice(0, top);
  const picked = new Set<number>();
  for (let i = 0; i < top; i++) picked.add(Math.round((i * (items.length - 1)) / (top - 1)));
  return [...picked].sort((a, b) => a - b).map((i) => items[i]!);
}

/** Replays the grid over the trace (read once) and returns the front per breaker. */
export async function suggestConfigs(input: TraceInput, options: SuggestOptions = {}): Promise<SuggestReport> {
  const top = options.top ?? 5;
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be an integer >= 1, got ${String(top)}`);
  const base = options.base?.settings ?? {};
  const defaults = candidateConfig(options.base === undefined ? DEFAULTS_LABEL : `${DEFAULTS_LABEL} + ${options.base.label}`, base);
  const grid = gridConfigs(options.grid, base);
  if (grid.length === 0) {
    throw new CandidateConfigError(options.base?.label ?? 'the grid', undefined, 'the engine refuses every configuration of the grid with these base options (replay one of them to see why)');
  }
  const configs = [defaults, ...grid];
  const { report } = await replayTrace(input, { ...options, configs });
  const breakers: BreakerSuggestions[] = [];
  for (let i = 0; i < report.results.length; i += configs.length) {
    const results = report.results.slice(i, i + configs.length);
    const current: Suggestion = { options: defaults.settings, result: results[0]! };
    const points = grid.map((config, k): Suggestion => ({ options: config.settings, result: results[k + 1]! }));
    // The defaults (with the base) first: of equal counts they stay, as nothing is gained by a change.
    const withCurrent = paretoFront([current, ...points]);
    const front = withCurrent.filter((point) => point !== current);
    breakers.push({ breaker: results[0]!.breaker, defaults: current, defaultsOnFront: front.length < withCurrent.length, front, suggested: spread(front, top) });
  }
  return { trace: report.trace, configurations: configs.length, base: options.base?.label ?? null, breakers };
}
