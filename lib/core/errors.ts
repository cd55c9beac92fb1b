/**
 * Errors a breaker raises. Each carries, as fields, the facts a caller needs to act on it.
 */

/**
 * Thrown (or rejected) instead of calling the function when the circuit does not admit the call:
 * open, forced_open, or half_open with every trial slot taken.
 *
 * Created without a stack trace: a rejection is the hot path of an open circuit, capturing a stack
 * costs microseconds, and the stack of a fast-fail says nothing the `breakerName` does not.
 */
export class CircuitOpenError extends Error {
  override readonly name = 'CircuitOpenError';
  /** The breaker that rejected the call. */
  readonly breakerName: string;
  /**
   * Milliseconds until the breaker may admit a call again; `undefined` when no time is known
   * (forced_open).
   */
  readonly retryAfterMs: number | undefined;

  /**
   * `cause` (the standard `Error.cause`): the failure that opened the circuit, for logs. The error
   * of the call that tripped it or of the trial that re-opened it (a `CircuitBreakerTimeoutError`
   * for a timeout or a hung probe; the result itself when `isResultFailure` flagged it); undefined
   * for a slow-call trip, a manual `forceOpen()` or an opening adopted from another instance.
   */
  constructor(breakerName: string, retryAfterMs: number | undefined, cause?: unknown) {
    super(`Circuit breaker "${breakerName}" is open`, cause === undefined ? undefined : { cause });
    this.breakerName = breakerName;
    this.retryAfterMs = retryAfterMs;
  }

  /** Builds the error without capturing a stack trace. */
  static withoutStack(breakerName: string, retryAfterMs: number | undefined, cause?: unknown): CircuitOpenError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    const error = new CircuitOpenError(breakerName, retryAfterMs, cause);
    Error.stackTraceLimit = limit;
    return error;
  }
}

/** A call that did not settle within `timeoutMs`. It counts as a failure; its late result is ignored. */
/** Which limit ran out: a call's `timeoutMs`, a half-open trial's, or a health check's poll period. */
export type TimeoutOption = 'timeoutMs' | 'halfOpenProbeTimeoutMs' | 'healthCheck.intervalMs';

const TIMED_OUT_WHAT: Readonly<Record<TimeoutOption, string>> = {
  timeoutMs: 'call timed out after',
  halfOpenProbeTimeoutMs: 'half-open trial got no answer within halfOpenProbeTimeoutMs,',
  'healthCheck.intervalMs': 'health check got no answer within healthCheck.intervalMs,',
};

export class CircuitBreakerTimeoutError extends Error {
  override readonly name = 'CircuitBreakerTimeoutError';
  readonly breakerName: string;
  readonly timeoutMs: number;
  /** The option whose limit ran out (a half-open trial's cause of re-opening names `halfOpenProbeTimeoutMs`). */
  readonly option: TimeoutOption;

  constructor(breakerName: string, timeoutMs: number, option: TimeoutOption = 'timeoutMs') {
    super(`Circuit breaker "${breakerName}": ${TIMED_OUT_WHAT[option]} ${timeoutMs} ms`);
    this.breakerName = breakerName;
    this.timeoutMs = timeoutMs;
    this.option = option;
  }
}

/**
 * Invalid configuration: the one error every configuration mistake raises, when a breaker is built
 * or reconfigured, a store is created, or (in Nest) at bootstrap.
 */
export class CircuitBreakerConfigError extends Error {
  override readonly name = 'CircuitBreakerConfigError';
  /** The breaker whose options are wrong (or the decorated method, when no name applies); undefined for a store's options. */
  readonly breakerName: string | undefined;
  /** Where the option was given: `Circuit breaker "payments"`, or a component such as `RedisCircuitBreakerStore`. */
  readonly source: string;
  /** The option path, e.g. `slidingWindow.size`. */
  readonly option: string;
  /** The value given. */
  readonly value: unknown;
  /** What is allowed, in words. */
  readonly allowed: string;

  constructor(breakerName: string, option: string, value: unknown, allowed: string);
  /** @internal (use {@link CircuitBreakerConfigError.forComponent}) */
  constructor(breakerName: string | undefined, option: string, value: unknown, allowed: string, component: string);
  constructor(breakerName: string | undefined, option: string, value: unknown, allowed: string, component?: string) {
    const source = component ?? `Circuit breaker "${breakerName}"`;
    super(`${source}: option "${option}" must be ${allowed}, got ${describeValue(value)}`);
    this.breakerName = component === undefined ? breakerName : undefined;
    this.source = source;
    this.option = option;
    this.value = value;
    this.allowed = allowed;
  }

  /** An option of something other than a breaker (a store, a module) is wrong. */
  static forComponent(component: string, option: string, value: unknown, allowed: string): CircuitBreakerConfigError {
    return new CircuitBreakerConfigError(undefined, option, value, allowed, component);
  }
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `a function (${value.name || 'anonymous'})`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' || value == null) {
    return String(value);
  }
  if (typeof value === 'symbol') return value.toString();
  if (Array.isArray(value)) return 'an array';
  try {
    return JSON.stringify(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
