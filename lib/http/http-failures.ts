/**
 * What counts as a failure of an HTTP dependency, for fetch responses and axios errors alike:
 * 5xx, 429, network errors and timeouts are failures; other 4xx are the caller's own doing and are
 * ignored; a request the caller cancelled is ignored. A 429 or 503 with `Retry-After` keeps the
 * circuit open at least that long (the engine's `retryAfterMs` option). Each piece is exported, so
 * any of them can be replaced: `{ ...httpBreakerSettings(), isResultFailure: mine }`.
 */
import { CircuitBreakerConfigError } from '../core/errors.js';
import type { CircuitBreakerSettings } from '../core/options.js';

/**
 * The longest wait a `Retry-After` may impose by default: 5 minutes. A server (or anything in
 * front of it) answering `Retry-After: 31536000` must not lock a host out for weeks.
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 300_000;

/** Options of the HTTP presets themselves (on top of the breaker's). */
export interface HttpPresetOptions {
  /**
   * The longest a `Retry-After` may keep the circuit open, in ms: a longer one (seconds or an HTTP
   * date) is read as this. A positive finite number; default 300 000 (5 minutes). The wait is
   * never shorter than `openDurationMs`, whatever the cap.
   */
  maxRetryAfterMs?: number;
}

/** The statuses that count as the dependency failing: 5xx and 429. */
export function isFailureStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** The status of a fetch `Response`, an axios response, or an axios error's response; undefined when there is none. */
export function statusOf(value: unknown): number | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const status = (value as { status?: unknown }).status;
  if (typeof status === 'number' && hasHeaders(value)) return status;
  const response = (value as { response?: unknown }).response;
  if (response !== null && typeof response === 'object') {
    const inner = (response as { status?: unknown }).status;
    if (typeof inner === 'number') return inner;
  }
  return undefined;
}

/** A request the caller cancelled (its own AbortSignal, axios cancellation): not the dependency failing. */
export function isCancellation(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === 'AbortError' || name === 'CanceledError' || code === 'ERR_CANCELED';
}

/**
 * `isFailure` for HTTP: an error with a response (axios) fails when its status does (5xx, 429);
 * a cancelled request is ignored; any other error (refused, reset, DNS, TLS, a client timeout) fails.
 */
export function isHttpFailure(error: unknown): boolean {
  if (isCancellation(error)) return false;
  const status = statusOf(error);
  return status === undefined ? true : isFailureStatus(status);
}

/** `isResultFailure` for HTTP: a response that resolved (fetch always does) with a 5xx or 429 status. */
export function isHttpResultFailure(result: unknown): boolean {
  const status = statusOf(result);
  return status !== undefined && isFailureStatus(status);
}

/**
 * `retryAfterMs` for HTTP: the `Retry-After` of a 429 or 503 (seconds, or an HTTP date), in ms,
 * capped at {@link DEFAULT_MAX_RETRY_AFTER_MS}; undefined for other statuses, a missing header or
 * one that does not parse. `httpBreakerSettings({ maxRetryAfterMs })` reads it with another cap.
 */
export function httpRetryAfterMs(failure: unknown): number | undefined {
  return readRetryAfterMs(failure, DEFAULT_MAX_RETRY_AFTER_MS);
}

/**
 * The HTTP classification as breaker options, with `overrides` on top. `maxRetryAfterMs` (default
 * 5 minutes) caps the wait a `Retry-After` may impose; it is not itself a breaker option, so it is
 * taken out of the result.
 */
export function httpBreakerSettings<T extends CircuitBreakerSettings>(overrides?: T & HttpPresetOptions): CircuitBreakerSettings & Omit<T, 'maxRetryAfterMs'> {
  return httpSettingsFor('httpBreakerSettings', overrides);
}

/** @internal {@link httpBreakerSettings}, its errors naming `where` (breakerFetch, the Nest module). */
export function httpSettingsFor<T extends CircuitBreakerSettings>(where: string, overrides?: T & HttpPresetOptions): CircuitBreakerSettings & Omit<T, 'maxRetryAfterMs'> {
  const { maxRetryAfterMs, ...rest } = (overrides ?? {}) as T & HttpPresetOptions;
  const retryAfterMs = maxRetryAfterMs === undefined ? httpRetryAfterMs : (checkMaxRetryAfterMs(where, maxRetryAfterMs), (failure: unknown) => readRetryAfterMs(failure, maxRetryAfterMs));
  return { isFailure: isHttpFailure, isResultFailure: isHttpResultFailure, retryAfterMs, ...(rest as Omit<T, 'maxRetryAfterMs'>) };
}

/** @internal A bad `maxRetryAfterMs` is a config error at bootstrap, naming the option and where it was given. */
export function checkMaxRetryAfterMs(where: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw CircuitBreakerConfigError.forComponent(where, 'maxRetryAfterMs', value, 'a positive finite number of ms (the longest a Retry-After may keep the circuit open)');
  }
}

function readRetryAfterMs(failure: unknown, maxMs: number): number | undefined {
  const status = statusOf(failure);
  if (status !== 429 && status !== 503) return undefined;
  const value = headerOf(failure, 'retry-after');
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, maxMs);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.min(Math.max(0, at - Date.now()), maxMs);
}

function hasHeaders(value: object): boolean {
  return 'headers' in value;
}

/** A header of a fetch Response (Headers), an axios response (AxiosHeaders or a plain object), or an axios error's response. */
function headerOf(value: unknown, name: string): string | undefined {
  const holder = (value as { headers?: unknown }).headers !== undefined ? value : (value as { response?: unknown }).response;
  const headers = (holder as { headers?: unknown } | undefined)?.headers;
  if (headers === null || typeof headers !== 'object') return undefined;
  const get = (headers as { get?: unknown }).get;
  const found = typeof get === 'function' ? (get as (n: string) => unknown).call(headers, name) : (headers as Record<string, unknown>)[name];
  return typeof found === 'string' ? found : Array.isArray(found) && typeof found[0] === 'string' ? found[0] : undefined;
}
