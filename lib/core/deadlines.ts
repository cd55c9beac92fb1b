/**
 * Per-call timeouts without a timer per call. All calls of one breaker share one `timeoutMs`, so
 * their deadlines arrive in the order the calls started: a FIFO of pending calls and one timer armed
 * for the head is enough. A call that settles in time unlinks itself in O(1) (the list is doubly
 * linked), so the queue holds only calls in flight; the timer stays armed for the deadline it was set
 * for and, when it fires, re-arms for the head of that moment: at most once per expiry, never once
 * per call. A call waiting on its deadline keeps the process alive (see holdWaitingCalls).
 */
import type { AsyncResource } from 'node:async_hooks';
import type { Clock } from './clock.js';
import { cancelTimer, holdProcess, scheduleTimer } from './clock.js';

/** One call that returned a promise while a timeout applies. */
export class PendingCall {
  next: PendingCall | null = null;
  prev: PendingCall | null = null;
  /** Settled by its own promise or by the deadline: whichever came first wins, the other is ignored. */
  done = false;
  resolve!: (value: unknown) => void;
  reject!: (reason: unknown) => void;
  /**
   * The async context the call started in, captured only while someone listens to call events: the
   * shared timer fires in the context of whichever call armed it, and a listener (a tracer reading
   * the active span) must see the timed-out call's own.
   */
  context: AsyncResource | undefined = undefined;
  permit = 0;
  startedAt = 0;
  /** The timeout the call runs under (reconfigure may change the breaker's later). */
  timeoutMs = 0;
  deadline = 0;
  controller: AbortController | undefined = undefined;
  /** The call's promise is a native one: its reactions run once, so the call can be reused once it settled in time. */
  native = false;

  constructor(
    /** The reactions to the call's own promise, made with the PendingCall and kept when it is reused. */
    readonly fulfilled: (value: unknown) => void,
    readonly rejected: (error: unknown) => void,
  ) {}
}

/**
 * Queues that have had a call in flight, for the process's `beforeExit`: the deadline timer is
 * unref'd (a breaker never keeps the process alive by itself), but a caller waiting on a deadline
 * is real work: `await breaker.execute(hung)` at the top of a script must reject with its timeout
 * rather than let the process exit under it (code 13). Node emits `beforeExit` when nothing else
 * keeps the loop alive; then, and only then, the timers of queues with calls waiting are ref'd,
 * until those queues empty. A call pays one boolean check for this; a ref/unref per call (C++ on
 * each toggle) cost about 0.8x a bare call on the timed path.
 */
const watched = new Set<WeakRef<DeadlineQueue>>();
let beforeExitListening = false;
/** Sweep dead entries when the set reaches this size (then twice that): amortised O(1) per add. */
let sweepAt = 1024;

/** @internal Exported for tests: what the process's beforeExit runs. */
export function holdWaitingCalls(): void {
  for (const ref of watched) {
    const queue = ref.deref();
    if (queue === undefined) watched.delete(ref);
    else queue.holdIfWaiting();
  }
}

/**
 * Weakly: a breaker nobody disposes must still be collectable once nothing else holds it (a disposed
 * one is taken out at once, see unwatch).
 */
function watch(ref: WeakRef<DeadlineQueue>): void {
  watched.add(ref);
  if (watched.size >= sweepAt) {
    for (const entry of watched) if (entry.deref() === undefined) watched.delete(entry);
    sweepAt = Math.max(1024, watched.size * 2);
  }
  if (beforeExitListening || typeof process === 'undefined' || typeof process.on !== 'function') return;
  beforeExitListening = true;
  process.on('beforeExit', holdWaitingCalls);
}

/** Spare calls kept per breaker: enough for a burst of sequential or lightly concurrent calls. */
const MAX_SPARE = 16;
function noop(): void {}

// The Promise executor runs synchronously inside `new Promise`, so a module slot hands it the call
// to fill in: no closure per call.
let filling: PendingCall | null = null;
function fillResolvers(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  filling!.resolve = resolve;
  filling!.reject = reject;
}

export function promiseFor(call: PendingCall): Promise<unknown> {
  filling = call;
  const promise = new Promise(fillResolvers);
  filling = null;
  return promise;
}

export class DeadlineQueue {
  private head: PendingCall | null = null;
  private tail: PendingCall | null = null;
  private timer: unknown = undefined;
  /** The deadline the timer is armed for (it may be earlier than the head's once calls settled in time). */
  private armedFor = Number.POSITIVE_INFINITY;
  /** The breaker was disposed: the timer lives only while a call is queued (see drain). */
  private draining = false;
  private readonly fire = (): void => this.onTimer();
  /** Its entry in `watched` (see holdWaitingCalls), made on its first timed call. */
  private watchedAs: WeakRef<DeadlineQueue> | null = null;
  /** Its timer was ref'd at beforeExit for the calls waiting; unref'd when the queue empties. */
  private held = false;
  /**
   * Calls that settled in time through a native promise, whose reactions can never run again: the
   * next timed call reuses one, so a call costs no PendingCall and no reaction closures. A call
   * that timed out is never reused (its promise may still settle and run its reactions).
   */
  private readonly spare: PendingCall[] = [];

  constructor(
    private readonly clock: () => Clock,
    /** Called for each call whose deadline passed before it settled; already marked done. */
    private readonly onExpired: (call: PendingCall, nowMs: number) => void,
  ) {}

  /** A spare call to reuse, if any (the caller sets every per-call field). */
  take(): PendingCall | undefined {
    return this.spare.pop();
  }

  /** `call` settled in time through a native promise and is out of the queue. */
  recycle(call: PendingCall): void {
    if (this.spare.length === MAX_SPARE) return;
    call.controller = undefined;
    call.context = undefined;
    call.resolve = call.reject = noop; // drop the settled promise's resolvers
    this.spare.push(call);
  }

  get isEmpty(): boolean {
    return this.head === null;
  }

  add(call: PendingCall, nowMs: number): void {
    const tail = this.tail;
    if (tail === null) {
      this.head = this.tail = call;
      if (this.watchedAs === null) watch((this.watchedAs = new WeakRef(this)));
    } else if (call.deadline >= tail.deadline) {
      tail.next = call; // the usual case: one shared timeoutMs keeps deadlines in order
      call.prev = tail;
      this.tail = call;
    } else {
      this.insertOutOfOrder(call); // a shorter timeoutMs after reconfigure(), or a clock that stepped back
    }
    if (this.timer === undefined) {
      this.arm(call.deadline, nowMs);
    } else if (call.deadline < this.armedFor) {
      cancelTimer(this.clock(), this.timer);
      this.arm(call.deadline, nowMs);
    }
  }

  private insertOutOfOrder(call: PendingCall): void {
    if (call.deadline < this.head!.deadline) {
      call.next = this.head;
      this.head!.prev = call;
      this.head = call;
      return;
    }
    let before = this.head!;
    while (before.next !== null && before.next.deadline <= call.deadline) before = before.next;
    call.next = before.next;
    call.prev = before;
    if (call.next !== null) call.next.prev = call;
    before.next = call;
    if (call.next === null) this.tail = call;
  }

  /**
   * A call settled in time leaves the queue at once (O(1)), so the queue holds only calls in flight.
   * The timer stays armed for the old deadline; when it fires it re-arms for the then head.
   */
  remove(call: PendingCall): void {
    if (this.head === null) return; // empty: the call expired already
    const prev = call.prev;
    const next = call.next;
    if (prev === null) {
      if (this.head !== call) return; // not queued (expired already)
      this.head = next;
    } else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    call.prev = call.next = null;
    if (this.head !== null) return;
    if (this.held) this.release();
    if (this.draining) this.cancel();
  }

  /**
   * The breaker is disposed (app.close()): calls in flight keep their deadline, so a call to a hung
   * dependency still times out and nothing waits forever (an HTTP server closing waits for its open
   * requests); but the timer no longer outlives the last queued call, so nothing stays armed.
   * Calls started afterwards are queued and timed the same way.
   */
  drain(): void {
    this.draining = true;
    if (this.head === null) this.cancel();
  }

  /** At beforeExit: calls are waiting on this queue's deadline, so its timer keeps the process alive. */
  holdIfWaiting(): void {
    if (this.head === null || this.timer === undefined || this.held) return;
    this.held = true;
    holdProcess(this.clock(), this.timer, true);
  }

  /** The queue emptied: its timer (if any is still armed) no longer holds the process. */
  private release(): void {
    this.held = false;
    holdProcess(this.clock(), this.timer, false);
  }

  private cancel(): void {
    if (this.timer !== undefined) cancelTimer(this.clock(), this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    this.held = false;
    if (this.draining) this.unwatch();
  }

  /** A disposed breaker's queue with no call left leaves `watched` (keyed breakers come and go). */
  private unwatch(): void {
    if (this.watchedAs === null) return;
    watched.delete(this.watchedAs);
    this.watchedAs = null;
  }

  private arm(deadline: number, nowMs: number): void {
    this.armedFor = deadline;
    const delayMs = deadline - nowMs;
    const clock = this.clock();
    this.timer = scheduleTimer(clock, this.fire, delayMs > 0 ? delayMs : 0);
    if (this.held) holdProcess(clock, this.timer, true); // re-armed for calls still waiting
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.clock().now();
    // Every queued call is in flight (settled ones unlinked themselves): expire those that are due.
    let call = this.head;
    while (call !== null && call.deadline <= now) {
      const next = call.next;
      call.next = null;
      this.head = next;
      if (next === null) this.tail = null;
      else next.prev = null;
      call.done = true;
      this.onExpired(call, now);
      call = this.head;
    }
    if (this.head !== null) {
      if (this.timer === undefined) this.arm(this.head.deadline, now);
    } else {
      this.held = false; // the timer that held the process has fired
      if (this.draining) this.unwatch();
    }
  }
}
