import type { ArgumentsHost, LoggerService } from '@nestjs/common';
import type { CircuitBreakerSettings } from '../core/options.js';
import type { CircuitBreakerFamilySettings } from '../family/family-options.js';
import type { CircuitBreakerTimeoutError, CircuitOpenError } from '../core/errors.js';
import type { RecordCallsOptions } from '../call-recorder.js';

/**
 * Maps a breaker's own errors (open circuit, timeout) to what the transport should send, e.g. an
 * `HttpException` for HTTP. Return `undefined` to keep the built-in mapping (HTTP 503/504,
 * RpcException, GraphQL error, WsException). `host` is the exception filter's host: `host.getType()`
 * tells the transport, `host.switchToHttp().getRequest()` the request. Global filters of yours
 * receive what it returns, like the built-in errors.
 */
export type CircuitBreakerErrorFactory = (
  error: CircuitOpenError | CircuitBreakerTimeoutError,
  host: ArgumentsHost,
) => unknown;

export interface CircuitBreakerModuleOptions {
  /**
   * Options every breaker starts from. Nest-layer default for `isFailure`: an `HttpException` with a
   * status below 500 is ignored (a client's bad request is not the dependency failing).
   */
  defaults?: CircuitBreakerSettings;
  /**
   * Named breakers, each merged over `defaults`. The key is the breaker's name (a `name` inside its
   * options fails bootstrap), or a pattern with `*` (any run of characters): `'payments-*'` gives
   * its options to every breaker whose name matches and that no entry names exactly. The most
   * specific pattern wins (most characters other than `*`); two patterns that tie on a name both
   * match fail bootstrap. See docs/keyed-breakers.md.
   */
  breakers?: Record<string, CircuitBreakerSettings>;
  /**
   * Families of keyed breakers (`@UseCircuitBreaker('shards', { key })`,
   * `registry.family('shards')`): each key gets its own breaker from these options merged over
   * `defaults`, named `family:key`, with the family's limits `maxKeys` and `idleTtlMs`.
   */
  families?: Record<string, CircuitBreakerFamilySettings>;
  /** Fail bootstrap when @UseCircuitBreaker / @InjectCircuitBreaker names a breaker declared nowhere. Default false. */
  strict?: boolean;
  /**
   * Custom mapping of CircuitOpenError / CircuitBreakerTimeoutError per transport. Not called for a
   * key a family refused (CircuitBreakerKeyError): that always gets the built-in 400 / invalid-key
   * mapping; name it in a filter's `@Catch()` to answer it otherwise.
   */
  errorFactory?: CircuitBreakerErrorFactory;
  /**
   * Where state transitions are logged: open as a warning (with the rates that tripped it),
   * half_open and closed as log lines. `false` silences it. Default: Nest's `Logger` with context
   * "CircuitBreaker".
   */
  logger?: LoggerService | false;
  /**
   * Records every call of every breaker (keyed ones as `family:key`) as an NDJSON trace for
   * `npx nestjs-breaker replay`, from bootstrap until `app.close()`: `{ file: 'calls.ndjson' }`,
   * with `sampleRate?` (fraction of calls, default 1) and `maxBytes?` (default 100 MiB; the
   * recording stops there). Never fails or delays a call. Default: off, at no cost. See
   * docs/tuning.md#recording-calls.
   */
  recordCalls?: RecordCallsOptions;
}

/** Options of a `@UseCircuitBreaker()` decorator. */
export interface UseCircuitBreakerOptions {
  /**
   * Runs instead of failing on an open circuit, a timeout or a recorded failure: the name of a
   * method on the same class, or a function. It receives the decorated method's arguments (for a
   * controller, the values after pipes) followed by the error. Ignored errors do not reach it.
   */
  fallback?: string | ((...args: never[]) => unknown);
  /**
   * Options of this decorator's breaker, declared at bootstrap like a `breakers` entry of
   * `forRoot` (merged over `defaults`). The same name given options in two places (forRoot,
   * forRootAsync, forFeature, another decorator) must get the same options, or bootstrap fails
   * naming both places.
   *
   * ```ts
   * @UseCircuitBreaker('search', { fallback: 'cached', options: { timeoutMs: 500 } })
   * ```
   */
  options?: CircuitBreakerSettings | CircuitBreakerFamilySettings;
  /**
   * Makes the method keyed: each call goes through the breaker of the key this function returns
   * for the method's arguments (for a controller, the values after pipes), in the family named by
   * the decorator (`@UseCircuitBreaker('shards', { key: (shardId: string) => shardId })`). Each
   * key's breaker is built from the family's options (forRoot `families`, or this decorator's
   * `options`, which may then carry `maxKeys` and `idleTtlMs`). A key function that throws, or a
   * key that is not a non-empty string of printable characters, fails that call with its error
   * (a `CircuitBreakerKeyError` naming the family); it is never recorded. The exception filter
   * answers a `CircuitBreakerKeyError` with HTTP 400 (the transport's bad-input error elsewhere); a
   * key function's own error passes through unchanged (Nest's 500 for a plain `Error`).
   */
  key?: (...args: never[]) => string;
}
