import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';
import type { Clock } from '../core/clock.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { monotonicClock } from '../core/clock.js';
import { refuseUnknownOptions } from '../unknown-options.js';

/** Options of {@link CircuitBreakerDashboardModule.register}. */
export interface CircuitBreakerDashboardOptions {
  /**
   * Where the page is served; its event stream is at `<path>/events`. Default `'circuit-breakers'`.
   * The app's global prefix applies. Must differ from the admin API's path.
   */
  path?: string;
  /**
   * Guards of the page and its stream: who may look. A browser sends only what it sends by itself
   * (cookies, or what an authenticating proxy adds), so a guard that wants a custom header cannot
   * protect the page; such a guard belongs on the admin API, which the page's actions go through.
   */
  guards?: (Type<CanActivate> | CanActivate)[];
  /** Modules that provide what the guards inject. */
  imports?: ModuleMetadata['imports'];
  /**
   * `true`: the page shows no actions and needs no admin API. Default `false`: the page's buttons
   * post to the routes of the application's `CircuitBreakerAdminModule`, through its guards.
   */
  readOnly?: boolean;
  /**
   * Path of the `CircuitBreakerAdminModule` the actions post to, as given to its `register()`
   * (the global prefix applies to both), or an absolute URL path starting with `/`. Default: the
   * path of the one admin API the application registers.
   */
  adminPath?: string;
  /**
   * The request header that carries the credentials typed into the page with each action (e.g.
   * `'x-api-key'`). Default `'authorization'` (type `Bearer <token>`). Cookies are sent anyway.
   */
  credentialsHeader?: string;
  /** How far back the charts reach, in ms. Default 300 000 (5 minutes). */
  historyMs?: number;
  /** How often every breaker is sampled for the charts and calls per second, in ms. Default 1 000. */
  sampleIntervalMs?: number;
  /** Most pages connected at once (event streams); one more is answered 503. Default 100. */
  maxViewers?: number;
  /** Time source and timers of the sampler and the streams; tests pass a `ManualClock`. */
  clock?: Clock;
}

export interface ResolvedDashboardOptions {
  readonly path: string;
  readonly guards: readonly (Type<CanActivate> | CanActivate)[];
  readonly readOnly: boolean;
  readonly adminPath: string | undefined;
  readonly credentialsHeader: string;
  readonly historyMs: number;
  readonly sampleIntervalMs: number;
  readonly maxViewers: number;
  readonly clock: Clock;
}

export const CIRCUIT_BREAKER_DASHBOARD_OPTIONS = Symbol('CIRCUIT_BREAKER_DASHBOARD_OPTIONS');

/** The page's path when none is given (the admin API's default too: register one of them elsewhere). */
export const DEFAULT_PATH = 'circuit-breakers';

/** Messages per breaker per second are at most 1000 / this (changes in between are coalesced). */
export const MIN_FLUSH_INTERVAL_MS = 250;
/** A comment line this often keeps proxies from closing a quiet stream and finds dead clients. */
export const HEARTBEAT_INTERVAL_MS = 15_000;
/** A client that has not read what was written for this long is disconnected (it reconnects afresh). */
export const STALL_LIMIT_MS = 30_000;
/** How long an EventSource waits before reconnecting (the stream's `retry:` field). */
export const RECONNECT_DELAY_MS = 2_000;
/** Transitions kept per breaker for the page. */
export const TRANSITIONS_PER_BREAKER = 20;

/** Every option `register()` takes: any other key is refused (a misspelt `readonly` must not leave the page writable). */
const OPTION_KEYS: readonly (keyof CircuitBreakerDashboardOptions)[] = [
  'path',
  'guards',
  'imports',
  'readOnly',
  'adminPath',
  'credentialsHeader',
  'historyMs',
  'sampleIntervalMs',
  'maxViewers',
  'clock',
];
const MAX_HISTORY_MS = 3_600_000;
const MAX_SAMPLES = 3_600;
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers a page cannot set on a request, or that would break the action's JSON body. */
const UNUSABLE_HEADERS = ['cookie', 'host', 'content-type', 'content-length', 'origin', 'referer'];

function fail(option: string, value: unknown, allowed: string): never {
  throw CircuitBreakerConfigError.forComponent('CircuitBreakerDashboardModule', option, value, allowed);
}

function wholeMs(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(option, value, `a whole number of milliseconds in [${min}, ${max}]`);
  }
  return value;
}

/** Validates at `register()`, so a bad value fails bootstrap with the option and the value named. */
export function resolveDashboardOptions(options: CircuitBreakerDashboardOptions): ResolvedDashboardOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) fail('options', options, 'an object');
  refuseUnknownOptions('CircuitBreakerDashboardModule', options, OPTION_KEYS);
  if (hasDotSegment(options.path)) fail('path', options.path, 'a path without "." or ".." segments (the page is served where the path says, never above it)');
  if (hasDotSegment(options.adminPath)) fail('adminPath', options.adminPath, 'a path without "." or ".." segments');
  const path = normalizePath(options.path ?? DEFAULT_PATH);
  if (path === undefined) fail('path', options.path, 'a non-empty string path such as "ops/circuit-breakers"');
  const guards = options.guards ?? [];
  if (!Array.isArray(guards) || guards.some((g) => g === null || (typeof g !== 'function' && typeof (g as CanActivate)?.canActivate !== 'function'))) {
    fail('guards', guards, 'an array of guard classes or instances (CanActivate)');
  }
  const readOnly = options.readOnly ?? false;
  if (typeof readOnly !== 'boolean') fail('readOnly', readOnly, 'a boolean');
  const adminPath = options.adminPath;
  if (adminPath !== undefined && (typeof adminPath !== 'string' || normalizePath(adminPath) === undefined)) {
    fail('adminPath', adminPath, 'the path given to CircuitBreakerAdminModule.register(), or an absolute path starting with "/"');
  }
  const credentialsHeader = options.credentialsHeader ?? 'authorization';
  if (typeof credentialsHeader !== 'string' || !HEADER_TOKEN.test(credentialsHeader) || UNUSABLE_HEADERS.includes(credentialsHeader.toLowerCase())) {
    fail('credentialsHeader', credentialsHeader, `an HTTP header name other than ${UNUSABLE_HEADERS.join(', ')}`);
  }
  const sampleIntervalMs = wholeMs('sampleIntervalMs', options.sampleIntervalMs ?? 1_000, 100, 60_000);
  const historyMs = wholeMs('historyMs', options.historyMs ?? 300_000, sampleIntervalMs, MAX_HISTORY_MS);
  if (historyMs / sampleIntervalMs > MAX_SAMPLES) {
    fail('historyMs', historyMs, `at most ${MAX_SAMPLES} x sampleIntervalMs (${MAX_SAMPLES * sampleIntervalMs}) with sampleIntervalMs ${sampleIntervalMs}`);
  }
  const maxViewers = options.maxViewers ?? 100;
  if (typeof maxViewers !== 'number' || !Number.isInteger(maxViewers) || maxViewers < 1 || maxViewers > 10_000) {
    fail('maxViewers', maxViewers, 'a whole number in [1, 10000]');
  }
  const clock = options.clock ?? monotonicClock;
  if (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function') fail('clock', clock, 'an object with a now() method');
  return {
    path,
    guards,
    readOnly,
    adminPath: adminPath === undefined ? undefined : adminPath.startsWith('/') ? `/${normalizePath(adminPath)}` : normalizePath(adminPath),
    credentialsHeader: credentialsHeader.toLowerCase(),
    historyMs,
    sampleIntervalMs,
    maxViewers,
    clock,
  };
}

/** `'/a//b/'` -> `'a/b'`, the way Nest joins route paths; `undefined` for an empty or non-string path. */
export function normalizePath(path: unknown): string | undefined {
  if (typeof path !== 'string') return undefined;
  const normalized = path.split('/').filter((segment) => segment !== '').join('/');
  return normalized === '' ? undefined : normalized;
}

/** @internal A `.` or `..` segment (`'../x'`, `'/x/../y'`): routers and browsers resolve them differently, so such a path is refused. */
export function hasDotSegment(path: unknown): boolean {
  return typeof path === 'string' && path.split('/').some((segment) => segment === '.' || segment === '..');
}
