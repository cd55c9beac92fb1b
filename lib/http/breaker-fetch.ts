/**
 * `fetch` through keyed breakers: one breaker per host (`host:port`), so one bad host opens its own
 * circuit only. An open circuit rejects before any connection is made; with `timeoutMs`, the
 * breaker's AbortSignal is passed to fetch, so a timed-out request is torn down (its socket closed).
 */
import { CircuitBreakerConfigError } from '../core/errors.js';
import { CircuitBreakerFamily } from '../family/circuit-breaker-family.js';
import type { CircuitBreakerFamilySettings } from '../family/family-options.js';
import { checkMaxRetryAfterMs, httpSettingsFor } from './http-failures.js';
import type { HttpPresetOptions } from './http-failures.js';

type Fetch = typeof globalThis.fetch;

export interface BreakerFetchOptions extends CircuitBreakerFamilySettings, HttpPresetOptions {
  /**
   * The family whose breakers the requests go through (`registry.family('hosts')` in Nest, where
   * the family's options come from `forRoot({ families })`: spread `httpBreakerSettings()` there).
   * When omitted, a family is made from the other options, over the HTTP classification.
   */
  family?: CircuitBreakerFamily;
  /** The family's name when one is made here. Default `'http'`. */
  name?: string;
  /** The fetch to call. Default: the global `fetch`. */
  fetch?: Fetch;
  /** The key of a request. Default: its URL's host (`host:port`, the port when not the scheme's default). */
  keyOf?: (url: URL) => string;
}

/** A fetch-compatible function; `family` is the family of breakers it goes through. */
export type BreakerFetch = Fetch & { readonly family: CircuitBreakerFamily };

/**
 * ```ts
 * const fetchHost = breakerFetch({ timeoutMs: 2_000, failureRateThreshold: 50 });
 * const res = await fetchHost('https://payments-a.example/charges', { method: 'POST', body });
 * ```
 * A 5xx or 429 response is recorded as a failure and still returned; a network error or a timeout
 * rejects; other 4xx responses are ignored (see http-failures.ts). A URL that does not parse
 * rejects with fetch's own TypeError, and one other than http: or https: with a TypeError saying
 * so, before any breaker is involved.
 */
export function breakerFetch(options: BreakerFetchOptions = {}): BreakerFetch {
  const { family: given, name, fetch: fetchImpl, keyOf = hostKey, ...settings } = options;
  const where = `breakerFetch({ name: '${name ?? 'http'}' })`;
  if (given !== undefined && settings.maxRetryAfterMs !== undefined) {
    // The given family already has its retryAfterMs: a cap here would silently do nothing.
    checkMaxRetryAfterMs(where, settings.maxRetryAfterMs);
    throw CircuitBreakerConfigError.forComponent(where, 'maxRetryAfterMs', settings.maxRetryAfterMs, 'absent when a family is given (give it to httpBreakerSettings({ maxRetryAfterMs }) where the family is declared)');
  }
  const family = given ?? new CircuitBreakerFamily({ name: name ?? 'http', ...httpSettingsFor(where, settings) });
  const run = fetchImpl ?? ((input: Parameters<Fetch>[0], init?: RequestInit) => globalThis.fetch(input, init));
  const fetchThrough = (input: Parameters<Fetch>[0], init?: RequestInit): Promise<Response> => {
    let key: string;
    try {
      key = keyOf(urlOf(input));
    } catch (error) {
      return Promise.reject(error);
    }
    return family.execute(key, (signal?: AbortSignal) => run(input, signal === undefined ? init : { ...init, signal: joined(init?.signal, signal) }));
  };
  return Object.assign(fetchThrough as Fetch, { family });
}

/**
 * `host:port` (the port only when it is not the scheme's default), lower case. A URL that is not
 * http: or https: (file:, data:...) has no host to key a breaker by: a TypeError saying so.
 */
export function hostKey(url: URL): string {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`unsupported URL ${JSON.stringify(url.href.length > 100 ? `${url.href.slice(0, 100)}…` : url.href)} (only http: and https: have a host to key a breaker by)`);
  }
  return url.host;
}

function urlOf(input: Parameters<Fetch>[0]): URL {
  if (typeof input === 'string') return new URL(input);
  if (input instanceof URL) return input;
  return new URL((input as Request).url);
}

/** The caller's signal and the breaker's: either aborts the request. */
export function joined(mine: AbortSignal | null | undefined, breakers: AbortSignal): AbortSignal {
  return mine === undefined || mine === null ? breakers : AbortSignal.any([mine, breakers]);
}
