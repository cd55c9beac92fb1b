/**
 * The window types, one row each. Adding a type: a file with its {@link WindowType} and options
 * interface, plus a row here.
 */
import type { FleetWindowSpec } from '../fleet/store.js';
import type { Validator } from '../validator.js';
import { isPlainObject, own } from '../validator.js';
import { DEFAULT_COUNT_WINDOW_SIZE, countWindow } from './count-window.js';
import type { CountWindowOptions } from './count-window.js';
import type { SlidingWindow, WindowType } from './sliding-window.js';
import { timeWindow } from './time-window.js';
import type { TimeWindowOptions } from './time-window.js';

export const WINDOW_TYPES = {
  count: countWindow,
  time: timeWindow,
} as const;

type Table = typeof WINDOW_TYPES;
type OptionsOf<W> = W extends WindowType<infer O, infer _R> ? O : never;
type ResolvedOf<W> = W extends WindowType<infer _O, infer R> ? R : never;

/** `{ type: 'count', size }` or `{ type: 'time', durationMs, buckets? }`: one member per window type. */
export type SlidingWindowOptions = { [K in keyof Table]: OptionsOf<Table[K]> }[keyof Table];
/** Window options with their defaults applied. */
export type ResolvedWindowOptions = { readonly [K in keyof Table]: Readonly<ResolvedOf<Table[K]>> }[keyof Table];

export type { CountWindowOptions, TimeWindowOptions };
export { DEFAULT_COUNT_WINDOW_SIZE } from './count-window.js';
export { DEFAULT_TIME_WINDOW_BUCKETS } from './time-window.js';

export const DEFAULT_WINDOW: ResolvedWindowOptions = { type: 'count', size: DEFAULT_COUNT_WINDOW_SIZE };

function typeOf(window: ResolvedWindowOptions): WindowType<{ type: string }> {
  return WINDOW_TYPES[window.type] as unknown as WindowType<{ type: string }>;
}

export function resolveWindow(v: Validator, window: unknown): ResolvedWindowOptions {
  if (window === undefined) return DEFAULT_WINDOW;
  if (!isPlainObject(window)) {
    return v.fail('slidingWindow', window, `one of ${Object.keys(WINDOW_TYPES).map((t) => `{ type: '${t}', ... }`).join(', ')}`);
  }
  const type = own(window, 'type');
  if (typeof type !== 'string' || !Object.hasOwn(WINDOW_TYPES, type)) {
    return v.fail('slidingWindow.type', type, Object.keys(WINDOW_TYPES).map((t) => `'${t}'`).join(' or '));
  }
  const windowType = WINDOW_TYPES[type as keyof Table] as unknown as WindowType<{ type: string }>;
  v.onlyKeys('slidingWindow', window, ['type', ...windowType.keys]);
  return windowType.resolve(v, window as { type: string }) as ResolvedWindowOptions;
}

export function createWindow(window: ResolvedWindowOptions): SlidingWindow {
  return typeOf(window).create(window);
}

export function windowCapacity(window: ResolvedWindowOptions): number {
  return typeOf(window).capacity(window);
}

/** The fleet window a store keeps beside a breaker's own. */
export function fleetWindow(window: ResolvedWindowOptions): FleetWindowSpec {
  return typeOf(window).fleet(window);
}

/** Same type and same parameters: the window can be kept across a reconfigure. */
export function sameWindow(a: ResolvedWindowOptions, b: ResolvedWindowOptions): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.is(own(a, key), own(b, key)));
}
