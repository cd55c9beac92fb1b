/**
 * Breakers for `@nestjs/axios`: `CircuitBreakerHttpModule.register()` installs, at bootstrap, an
 * axios request interceptor on every `HttpService` of the application, which runs each request's
 * adapter call through the breaker of its host (a family of keyed breakers, `perHost`), or through
 * one breaker. An open circuit rejects before the adapter runs (no connection is made); with
 * `timeoutMs`, the breaker's AbortSignal reaches the request.
 *
 * `@nestjs/axios` and `axios` are optional peers, loaded when the application starts, so the rest
 * of `nestjs-breaker/http` (breakerFetch) works without them.
 */
import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { CircuitBreaker } from '../core/circuit-breaker.js';
import { CircuitBreakerConfigError } from '../core/errors.js';
import type { CircuitBreakerFamily } from '../family/circuit-breaker-family.js';
import type { CircuitBreakerFamilySettings } from '../family/family-options.js';
import { refuseUnknownOptions } from '../unknown-options.js';
import { hostKey, joined } from './breaker-fetch.js';
import { checkMaxRetryAfterMs, httpSettingsFor } from './http-failures.js';
import type { HttpPresetOptions } from './http-failures.js';

/** Options of {@link CircuitBreakerHttpModule.register}. */
export interface CircuitBreakerHttpOptions {
  /**
   * The family's name (or, with `perHost: false`, the breaker's): keys' breakers are named
   * `<family>:<host>`. Default `'http'`.
   */
  family?: string;
  /** One breaker per host (default `true`), or one for every request (`false`). */
  perHost?: boolean;
  /**
   * Breaker options (and, per host, the family's `maxKeys` / `idleTtlMs`), over the HTTP
   * classification: 5xx, 429, network errors and timeouts fail; other 4xx and cancelled requests
   * are ignored; a 429 or 503 `Retry-After` keeps the circuit open that long, up to
   * `maxRetryAfterMs` (default 5 minutes). Declared under the family's name at bootstrap: give the
   * options here rather than in `forRoot`.
   */
  options?: CircuitBreakerFamilySettings & HttpPresetOptions;
  /** The key of a request (perHost). Default: its URL's host (`host:port`). */
  keyOf?: (url: URL) => string;
}

export const CIRCUIT_BREAKER_HTTP_OPTIONS = Symbol('CIRCUIT_BREAKER_HTTP_OPTIONS');

const MISSING_AXIOS =
  'CircuitBreakerHttpModule needs @nestjs/axios (and axios): npm install @nestjs/axios axios, and import HttpModule where you use HttpService';

/** The parts of an axios instance the interceptor uses (no axios types in this package's declarations). */
interface AxiosLike {
  defaults: { adapter?: unknown };
  interceptors: { request: { use(onFulfilled: (config: AxiosConfigLike) => AxiosConfigLike): number; eject(id: number): void } };
  getUri(config?: AxiosConfigLike): string;
}
interface AxiosConfigLike {
  adapter?: unknown;
  signal?: AbortSignal | { aborted: boolean } | null;
  [key: string]: unknown;
}
type Adapter = (config: AxiosConfigLike) => Promise<unknown>;

const installed = new WeakMap<object, symbol>();

@Injectable()
export class CircuitBreakerHttpInstaller implements OnModuleInit, OnModuleDestroy {
  /** Interceptors this application installed, removed when it closes (HttpModule's default axios instance is the process-wide one). */
  private readonly ejects: (() => void)[] = [];

  constructor(
    @Inject(CIRCUIT_BREAKER_HTTP_OPTIONS) private readonly options: CircuitBreakerHttpOptions,
    private readonly registry: CircuitBreakerRegistry,
    private readonly discovery: DiscoveryService,
  ) {}

  async onModuleInit(): Promise<void> {
    const { family: name = 'http', perHost = true, options: settings = {}, keyOf = hostKey } = this.options;
    const source = `CircuitBreakerHttpModule.register({ family: '${name}' })`;
    let through: (key: () => string, fn: (signal?: AbortSignal) => Promise<unknown>) => Promise<unknown>;
    if (perHost) {
      const family: CircuitBreakerFamily = this.registry.declareFamily(name, httpSettingsFor(source, settings), source);
      through = (key, fn) => {
        let host: string;
        try {
          host = key();
        } catch (error) {
          return Promise.reject(error);
        }
        return family.execute(host, fn);
      };
    } else {
      const breaker: CircuitBreaker = this.registry.declare(name, httpSettingsFor(source, settings), source)!;
      through = (_key, fn) => breaker.execute(fn);
    }
    let axiosModule: { HttpService: abstract new (...args: never[]) => { axiosRef: unknown } };
    let getAdapter: (adapter: unknown) => Adapter;
    try {
      axiosModule = (await import('@nestjs/axios')) as unknown as typeof axiosModule;
      const axios = (await import('axios')) as unknown as { default: { getAdapter: typeof getAdapter } };
      getAdapter = (adapter) => axios.default.getAdapter(adapter);
    } catch (error) {
      throw new Error(`${MISSING_AXIOS} (${error instanceof Error ? error.message : String(error)})`);
    }
    const services = this.discovery.getProviders().filter((wrapper) => wrapper.instance instanceof axiosModule.HttpService);
    if (services.length === 0) {
      throw new CircuitBreakerConfigError(name, 'HttpService', undefined, `an HttpService in the application: ${source} found none (import HttpModule from @nestjs/axios)`);
    }
    const mark = Symbol(name);
    for (const wrapper of services) {
      const instance = (wrapper.instance as { axiosRef: AxiosLike }).axiosRef;
      const previous = installed.get(instance);
      if (previous !== undefined) {
        if (previous === mark) continue;
        throw new CircuitBreakerConfigError(
          name,
          'family',
          name,
          `one CircuitBreakerHttpModule per axios instance: the HttpService of ${String(wrapper.name)} already runs through the breakers of "${previous.description}" ` +
            `(HttpModule without options shares the process-wide axios instance: give HttpModule.register({}) its own in each application that uses other breakers)`,
        );
      }
      installed.set(instance, mark);
      const id = instance.interceptors.request.use((config) => {
        const inner = getAdapter(config.adapter ?? instance.defaults.adapter);
        // The adapter is the request itself: replaced by one that runs it through the breaker.
        config.adapter = (request: AxiosConfigLike) =>
          through(
            () => keyOf(new URL(instance.getUri(request))),
            (signal?: AbortSignal) => inner(signal === undefined ? request : { ...request, signal: joined(request.signal as AbortSignal | null | undefined, signal) }),
          );
        return config;
      });
      this.ejects.push(() => {
        instance.interceptors.request.eject(id);
        installed.delete(instance);
      });
    }
  }

  onModuleDestroy(): void {
    for (const eject of this.ejects.splice(0)) eject();
  }
}

/**
 * ```ts
 * imports: [HttpModule, CircuitBreakerHttpModule.register({ family: 'payment-hosts', options: { timeoutMs: 2_000 } })]
 * ```
 * Needs `CircuitBreakerModule.forRoot()` (global) in the application.
 */
@Module({})
export class CircuitBreakerHttpModule {
  static register(options: CircuitBreakerHttpOptions = {}): DynamicModule {
    checkOptions(options);
    return {
      module: CircuitBreakerHttpModule,
      imports: [DiscoveryModule],
      providers: [{ provide: CIRCUIT_BREAKER_HTTP_OPTIONS, useValue: options }, CircuitBreakerHttpInstaller],
    };
  }
}

function checkOptions(options: CircuitBreakerHttpOptions): void {
  const where = 'CircuitBreakerHttpModule.register';
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw CircuitBreakerConfigError.forComponent(where, 'options', options, 'an object');
  refuseUnknownOptions(where, options, ['family', 'perHost', 'options', 'keyOf']);
  if (options.perHost !== undefined && typeof options.perHost !== 'boolean') throw CircuitBreakerConfigError.forComponent(where, 'perHost', options.perHost, 'a boolean');
  if (options.keyOf !== undefined && typeof options.keyOf !== 'function') throw CircuitBreakerConfigError.forComponent(where, 'keyOf', options.keyOf, 'a function (url: URL) => string');
  if (options.family !== undefined && (typeof options.family !== 'string' || options.family.length === 0)) {
    throw CircuitBreakerConfigError.forComponent(where, 'family', options.family, 'a non-empty string');
  }
  const max = (options.options as HttpPresetOptions | undefined)?.maxRetryAfterMs;
  if (max !== undefined) checkMaxRetryAfterMs(where, max);
}
