/**
 * The table of states: one row per state, read by the engine and by everyone who needs the list
 * (the store's validation, Prometheus, the health indicator, the admin API). Adding a state: a file
 * in this folder with its {@link StateBehaviour}, plus a row here.
 */
import { closed } from './closed.js';
import { disabled } from './disabled.js';
import { forcedOpen } from './forced-open.js';
import { halfOpen } from './half-open.js';
import { metricsOnly } from './metrics-only.js';
import { open } from './open.js';
import type { StateBehaviour } from './state.js';

export interface StateRow {
  readonly behaviour: StateBehaviour;
  /** Which calls get through: all of them, a limited number of trials, or none. */
  readonly admits: 'all' | 'trials' | 'none';
  /** How a fleet's store keeps it (half_open is an instance's own view of an open circuit). */
  readonly storedAs: string;
  /** Entered by hand: the breaker method and the admin API route that do it. */
  readonly manual: { readonly method: 'forceOpen' | 'disable' | 'metricsOnly'; readonly route: string } | null;
}

export const STATE_TABLE = {
  closed: { behaviour: closed, admits: 'all', storedAs: 'closed', manual: null },
  open: { behaviour: open, admits: 'none', storedAs: 'open', manual: null },
  half_open: { behaviour: halfOpen, admits: 'trials', storedAs: 'open', manual: null },
  forced_open: { behaviour: forcedOpen, admits: 'none', storedAs: 'forced_open', manual: { method: 'forceOpen', route: 'force-open' } },
  disabled: { behaviour: disabled, admits: 'all', storedAs: 'disabled', manual: { method: 'disable', route: 'disable' } },
  metrics_only: { behaviour: metricsOnly, admits: 'all', storedAs: 'metrics_only', manual: { method: 'metricsOnly', route: 'metrics-only' } },
} as const satisfies Record<string, StateRow>;

/** `'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled' | 'metrics_only'` */
export type CircuitState = keyof typeof STATE_TABLE;

/** The states a fleet's store keeps. */
export type SharedCircuitState = (typeof STATE_TABLE)[CircuitState]['storedAs'];

/** Every state, in table order. */
export const CIRCUIT_STATES = Object.keys(STATE_TABLE) as readonly CircuitState[];

/** The states a store may hold. */
export const SHARED_STATES: ReadonlySet<string> = new Set(CIRCUIT_STATES.map((state) => STATE_TABLE[state].storedAs));

export function stateRow(state: CircuitState): StateRow {
  return STATE_TABLE[state];
}
