/**
 * The calls a breaker judges its rates on. Every window type is O(1) per recorded call (a time
 * window's rotation is amortised: each slice is cleared at most once per period) and holds memory
 * proportional to its size only. A window type is one file in this folder plus one row of the table
 * in index.ts.
 */
import type { FleetWindowSpec } from '../fleet/store.js';
import type { Validator } from '../validator.js';

/** What the rates are computed from. */
export interface WindowCounts {
  readonly calls: number;
  readonly failures: number;
  readonly slowCalls: number;
}

export interface SlidingWindow extends WindowCounts {
  /** True when `record` and `advance` use the time they are given. */
  readonly usesTime: boolean;
  /** How long one slice of time lasts (0 for windows that keep no time). */
  readonly sliceMs: number;
  /** Records one completed call. `outcome` is a bit set of {@link FAILURE} and {@link SLOW}. */
  record(outcome: number, nowMs: number): void;
  /** `record(0, nowMs)`: a plain success (the closed fast path), as cheap as the window can make it. */
  recordSuccess(nowMs: number): void;
  /** Drops outcomes that have aged out by `nowMs` (time windows only). */
  advance(nowMs: number): void;
  clear(): void;
}

export const FAILURE = 1;
export const SLOW = 2;

/** A kind of window: its options, their validation, and how a store keeps the fleet's copy of it. */
export interface WindowType<Options extends { type: string }, Resolved extends Options = Options> {
  /** Option keys besides `type` (any other key is an error). */
  readonly keys: readonly string[];
  /** Checks the options (own properties only) and applies defaults. */
  resolve(v: Validator, options: Options): Resolved;
  create(resolved: Resolved): SlidingWindow;
  /** The most calls the window can hold: `minimumCalls` / `minimumFailures` above it could never be met. */
  capacity(resolved: Resolved): number;
  /** How a store keeps the fleet's window beside this one. */
  fleet(resolved: Resolved): FleetWindowSpec;
}
