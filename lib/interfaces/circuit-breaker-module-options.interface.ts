import type { ArgumentsHost, LoggerService } from '@nestjs/common';
import type { CircuitBreakerSettings } from '../core/options.js';
import type { CircuitBreakerTimeoutError, CircuitOpenError } from '../core/errors.js';

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
  /** Named breakers, each merged over `defaults`. The key is the breaker's name (a `name` inside its options fails bootstrap). */
  breakers?: Record<string, CircuitBreakerSettings>;
  /** Fail bootstrap when @UseCircuitBreaker / @InjectCircuitBreaker names a breaker declared nowhere. Default false. */
  strict?: boolean;
  /** Custom mapping of CircuitOpenError / CircuitBreakerTimeoutError per transport. */
  errorFactory?: CircuitBreakerErrorFactory;
  /**
   * Where state transitions are logged: open as a warning (with the rates that tripped it),
   * half_open and closed as log lines. `false` silences it. Default: Nest's `Logger` with context
   * "CircuitBreaker".
   */
  logger?: LoggerService | false;
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
  options?: CircuitBreakerSettings;
}
