/**
 * Bounded label cardinality for families of keyed breakers. A family's series carry
 * `name="<family>"` and a `key` label: the key itself for the keys whose circuit is not closed
 * (always) and for the `topKeys` keys with the most traffic, `_overflow` for the overflow breaker,
 * and `_other` for every other key, aggregated.
 *
 * Counters stay monotonic while keys move in and out of the labelled set: at each scrape the calls
 * a key made since the previous scrape are added to the series it belongs to now (its own, or
 * `_other`). A key that loses its own series leaves it behind (the series ends, as for any label
 * that goes away); one that gains it starts a new series from zero. A retired key's calls since the
 * last scrape go to `_other`.
 *
 * Shared by the Prometheus and OpenTelemetry integrations. An exporter that keeps every series it
 * has ever seen (OpenTelemetry's SDK with cumulative temporality) also gets a lifetime bound,
 * `keyBudget`: at most that many distinct keys of a family ever get a series of their own, and a
 * key that loses its series keeps its counts, so its series stays monotonic if it comes back.
 */
import type { CircuitBreaker, CircuitState } from '../core/circuit-breaker.js';
import { CIRCUIT_STATES, STATE_TABLE } from '../core/states/index.js';
import type { CircuitBreakerFamily } from './circuit-breaker-family.js';

export const OTHER_KEY = '_other';
const OVERFLOW_KEY = '_overflow';

/** Cumulative counters, in this order. */
export const COUNTERS = ['successful', 'failed', 'ignored', 'not_permitted', 'timeout', 'slow', 'openings', 'wouldTrips', 'storeFallbacks'] as const;
export type Counts = Record<(typeof COUNTERS)[number], number>;

/** One series' values at a scrape. */
export interface FamilyRow {
  readonly name: string;
  readonly key: string;
  readonly counts: Counts;
  /** Keys per state: one-hot for a key's own row, counts for `_other`. */
  readonly states: Readonly<Record<CircuitState, number>>;
  readonly failureRate: number;
  readonly slowCallRate: number;
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number | undefined;
  readonly retryAfterSeconds: number;
  /** With a store: 1 while every breaker of the row shares its state, else 0. */
  readonly storeShared: number | undefined;
}

export interface FamilySeriesOptions {
  /** How many of the busiest closed keys of a family get a series of their own. */
  readonly topKeys: number;
  /** A key lost its own series (the caller removes its event-driven series). */
  readonly onDrop?: (family: string, key: string) => void;
  /**
   * At most this many distinct keys of a family ever get a series of their own; later keys, open
   * ones included, stay under `_other`. A dropped key's counts are kept. Default: no bound, and a
   * dropped key's series ends (starts from zero if it comes back).
   */
  readonly keyBudget?: number;
}

interface FamilyState {
  /** Keys with a series of their own. */
  readonly labelled: Set<string>;
  /** With a keyBudget: every key that ever had a series of its own. */
  readonly everLabelled: Set<string>;
  /** Each live breaker's counters at the previous scrape. */
  readonly seen: Map<CircuitBreaker, Counts>;
  /** Recent traffic per breaker (calls per scrape, halved each scrape). */
  readonly score: Map<CircuitBreaker, number>;
  /** The cumulative value of every series, by key label. */
  readonly series: Map<string, Counts>;
}

function zero(): Counts {
  return { successful: 0, failed: 0, ignored: 0, not_permitted: 0, timeout: 0, slow: 0, openings: 0, wouldTrips: 0, storeFallbacks: 0 };
}

function countsOf(breaker: CircuitBreaker): Counts {
  const t = breaker.totals();
  return {
    successful: t.successfulCalls,
    failed: t.failedCalls,
    ignored: t.ignoredCalls,
    not_permitted: t.notPermittedCalls,
    timeout: t.timeoutCalls,
    slow: t.slowCalls,
    openings: t.openings,
    wouldTrips: t.wouldTrips,
    storeFallbacks: t.storeFallbacks,
  };
}

function keyOf(family: CircuitBreakerFamily, breaker: CircuitBreaker): string {
  return breaker.name.slice(family.name.length + 1);
}

function admitsAll(breaker: CircuitBreaker): boolean {
  return STATE_TABLE[breaker.state].admits === 'all';
}

export class FamilySeries {
  private readonly families = new Map<string, FamilyState>();
  private cached: FamilyRow[] | null = null;

  private readonly topKeys: number;
  private readonly onDrop: (family: string, key: string) => void;
  private readonly keyBudget: number;

  constructor(options: FamilySeriesOptions) {
    this.topKeys = options.topKeys;
    this.onDrop = options.onDrop ?? (() => undefined);
    this.keyBudget = options.keyBudget ?? Number.POSITIVE_INFINITY;
  }

  /** The key label the calls of `key` of the family `familyName` are counted under now. */
  labelOf(familyName: string, key: string): string {
    if (key === OVERFLOW_KEY) return key;
    return this.families.get(familyName)?.labelled.has(key) === true ? key : OTHER_KEY;
  }

  /**
   * Every family's rows. Computed once per scrape (every metric's collect() reads the same rows;
   * the cache lasts until the event loop turns).
   */
  rows(families: readonly CircuitBreakerFamily[]): readonly FamilyRow[] {
    if (this.cached !== null) return this.cached;
    const rows: FamilyRow[] = [];
    for (const family of families) rows.push(...this.scrape(family));
    this.cached = rows;
    setImmediate(() => {
      this.cached = null;
    }).unref();
    return rows;
  }

  /** The key label a transition of `breaker` is counted under now; a key leaving closed gets its own series first. */
  labelFor(family: CircuitBreakerFamily, breaker: CircuitBreaker, to: CircuitState): string {
    const key = keyOf(family, breaker);
    if (key === OVERFLOW_KEY) return key;
    const state = this.stateOf(family.name);
    if (STATE_TABLE[to].admits !== 'all') this.label(state, key);
    return state.labelled.has(key) ? key : OTHER_KEY;
  }

  /** A retired breaker: its calls since the last scrape go to `_other`, and its own series ends. */
  retire(familyName: string, key: string, breaker: CircuitBreaker): void {
    const state = this.families.get(familyName);
    if (state === undefined) return;
    const seen = state.seen.get(breaker);
    if (seen !== undefined) add(this.seriesOf(state, OTHER_KEY), countsOf(breaker), seen);
    state.seen.delete(breaker);
    state.score.delete(breaker);
    if (state.labelled.delete(key)) this.drop(familyName, state, key);
  }

  clear(): void {
    this.families.clear();
    this.cached = null;
  }

  private stateOf(name: string): FamilyState {
    let state = this.families.get(name);
    if (state === undefined) {
      state = { labelled: new Set(), everLabelled: new Set(), seen: new Map(), score: new Map(), series: new Map([[OTHER_KEY, zero()]]) };
      this.families.set(name, state);
    }
    return state;
  }

  private seriesOf(state: FamilyState, key: string): Counts {
    let counts = state.series.get(key);
    if (counts === undefined) state.series.set(key, (counts = zero()));
    return counts;
  }

  private scrape(family: CircuitBreakerFamily): FamilyRow[] {
    const state = this.stateOf(family.name);
    const breakers = family.breakers();
    const now = new Map<CircuitBreaker, Counts>();
    for (const breaker of breakers) {
      const counts = countsOf(breaker);
      now.set(breaker, counts);
      const before = state.seen.get(breaker) ?? zero();
      const calls = counts.successful + counts.failed + counts.ignored + counts.not_permitted + counts.timeout - (before.successful + before.failed + before.ignored + before.not_permitted + before.timeout);
      state.score.set(breaker, (state.score.get(breaker) ?? 0) / 2 + calls);
    }
    this.relabel(family, state, breakers);
    // The calls since the last scrape go to the series each breaker belongs to now.
    for (const breaker of breakers) {
      const key = keyOf(family, breaker);
      const label = key === OVERFLOW_KEY || state.labelled.has(key) ? key : OTHER_KEY;
      add(this.seriesOf(state, label), now.get(breaker)!, state.seen.get(breaker) ?? zero());
      state.seen.set(breaker, now.get(breaker)!);
    }
    for (const breaker of state.seen.keys()) if (!now.has(breaker)) state.seen.delete(breaker);
    for (const breaker of state.score.keys()) if (!now.has(breaker)) state.score.delete(breaker);
    if (family.find(OVERFLOW_KEY) === undefined && state.series.delete(OVERFLOW_KEY)) this.onDrop(family.name, OVERFLOW_KEY);
    return this.rowsOf(family, state, breakers);
  }

  /** Keys not closed keep (or get) their own series; of the rest, the busiest `topKeys` do. */
  private relabel(family: CircuitBreakerFamily, state: FamilyState, breakers: readonly CircuitBreaker[]): void {
    const wanted = new Set<string>();
    const ranked: { key: string; score: number; had: boolean }[] = [];
    for (const breaker of breakers) {
      const key = keyOf(family, breaker);
      if (key === OVERFLOW_KEY) continue;
      if (!admitsAll(breaker)) wanted.add(key);
      else if ((state.score.get(breaker) ?? 0) > 0) ranked.push({ key, score: state.score.get(breaker)!, had: state.labelled.has(key) });
    }
    ranked.sort((a, b) => b.score - a.score || Number(b.had) - Number(a.had) || (a.key < b.key ? -1 : 1));
    for (const { key } of ranked.slice(0, this.topKeys)) wanted.add(key);
    for (const key of state.labelled) {
      if (wanted.has(key)) continue;
      state.labelled.delete(key);
      this.drop(family.name, state, key);
    }
    for (const key of wanted) this.label(state, key);
  }

  /** Gives `key` a series of its own, unless the family's keyBudget is spent on other keys. */
  private label(state: FamilyState, key: string): void {
    if (this.keyBudget !== Number.POSITIVE_INFINITY) {
      if (!state.everLabelled.has(key) && state.everLabelled.size >= this.keyBudget) return;
      state.everLabelled.add(key);
    }
    state.labelled.add(key);
  }

  /** A key lost its own series: without a keyBudget the series ends; with one its counts are kept. */
  private drop(familyName: string, state: FamilyState, key: string): void {
    if (this.keyBudget === Number.POSITIVE_INFINITY) state.series.delete(key);
    this.onDrop(familyName, key);
  }

  private rowsOf(family: CircuitBreakerFamily, state: FamilyState, breakers: readonly CircuitBreaker[]): FamilyRow[] {
    const options = family.breakerSettings;
    const failureRateThreshold = options.failureRateThreshold ?? 50;
    const slowCallRateThreshold = options.slowCallDurationMs === undefined ? undefined : (options.slowCallRateThreshold ?? 100);
    const hasStore = options.store !== undefined;
    const rows: FamilyRow[] = [];
    const other = { states: oneHot(undefined), calls: 0, failures: 0, slowCalls: 0, shared: 1 };
    for (const breaker of breakers) {
      const key = keyOf(family, breaker);
      const snapshot = breaker.snapshot();
      if (key === OVERFLOW_KEY || state.labelled.has(key)) {
        rows.push({
          name: family.name,
          key,
          counts: { ...state.series.get(key)! },
          states: oneHot(snapshot.state),
          failureRate: snapshot.failureRate,
          slowCallRate: snapshot.slowCallRate,
          failureRateThreshold,
          slowCallRateThreshold,
          retryAfterSeconds: snapshot.state === 'open' && snapshot.retryAfterMs !== undefined ? snapshot.retryAfterMs / 1000 : 0,
          storeShared: hasStore ? (snapshot.store === 'shared' ? 1 : 0) : undefined,
        });
        continue;
      }
      other.states[snapshot.state]++;
      other.calls += snapshot.calls;
      other.failures += snapshot.failures;
      other.slowCalls += snapshot.slowCalls;
      if (snapshot.store !== 'shared') other.shared = 0;
    }
    rows.push({
      name: family.name,
      key: OTHER_KEY,
      counts: { ...state.series.get(OTHER_KEY)! },
      states: other.states,
      failureRate: other.calls === 0 ? 0 : (other.failures * 100) / other.calls,
      slowCallRate: other.calls === 0 ? 0 : (other.slowCalls * 100) / other.calls,
      failureRateThreshold,
      slowCallRateThreshold,
      retryAfterSeconds: 0,
      storeShared: hasStore ? other.shared : undefined,
    });
    return rows;
  }
}

function oneHot(state: CircuitState | undefined): Record<CircuitState, number> {
  return Object.fromEntries(CIRCUIT_STATES.map((s) => [s, s === state ? 1 : 0])) as Record<CircuitState, number>;
}

function add(into: Counts, now: Counts, before: Counts): void {
  for (const counter of COUNTERS) into[counter] += Math.max(0, now[counter] - before[counter]);
}
