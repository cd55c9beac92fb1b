/**
 * Shared helpers for the stress and fault-containment tests. Deterministic: a seeded PRNG, promise
 * continuations flushed with microtask loops, time only through ManualClock.
 */
import vm from 'node:vm';

/**
 * The Node process itself. Inside Jest's sandbox the global `process` is a copy with its own event
 * listeners: an 'unhandledRejection' listener added to it never fires. `vm.runInThisContext` runs
 * in the main context, whose `process` is the real one (where Node emits the event).
 */
export function realProcess(): NodeJS.Process {
  return vm.runInThisContext('process') as NodeJS.Process;
}

export interface RejectionSpy {
  /** Every reason Node reported as an unhandled rejection while the spy was installed. */
  readonly seen: unknown[];
  /** Removes the listener (call from afterEach / finally). */
  stop(): void;
}

/** Installs an 'unhandledRejection' listener on the real process (see {@link realProcess}). */
export function spyOnUnhandledRejections(): RejectionSpy {
  const target = realProcess();
  const seen: unknown[] = [];
  const listener = (reason: unknown): void => {
    seen.push(reason);
  };
  target.on('unhandledRejection', listener);
  return { seen, stop: () => void target.off('unhandledRejection', listener) };
}

/** Lets pending promise continuations run (no timers involved). */
export async function flush(ticks = 10): Promise<void> {
  for (let i = 0; i < ticks; i++) await Promise.resolve();
}

/** One macrotask turn (setImmediate, not a timer): lets Node run its unhandled-rejection check. */
export { turn } from '../support/waiting.js';

/** mulberry32: a small seeded PRNG, so a failing seed replays exactly. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** [0, 1) */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The error `fn` throws synchronously, or undefined when it does not throw. */
export function syncError(fn: () => unknown): { threw: boolean; error: unknown; value: unknown } {
  try {
    return { threw: false, error: undefined, value: fn() };
  } catch (error) {
    return { threw: true, error, value: undefined };
  }
}
