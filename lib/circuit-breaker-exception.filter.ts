import { Catch, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter, LoggerService } from '@nestjs/common';
import { FILTER_CATCH_EXCEPTIONS } from '@nestjs/common/constants.js';
import { ApplicationConfig, BaseExceptionFilter, HttpAdapterHost } from '@nestjs/core';
import { from, isObservable, mergeMap, of } from 'rxjs';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './core/errors.js';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from './circuit-breaker.module-definition.js';
import type { CircuitBreakerModuleOptions } from './interfaces/circuit-breaker-module-options.interface.js';
import { CircuitBreakerKeyError } from './family/family-options.js';
import { isCircuitBreakerError, loadTransport, retryAfterSeconds, toTransportError, transportClasses } from './transport-errors.js';
import type { MappedError } from './transport-errors.js';

type Filter = ExceptionFilter<unknown>;

/**
 * Sends a breaker's own errors (`CircuitOpenError`, `CircuitBreakerTimeoutError`) as the transport's
 * error: HTTP 503 with `Retry-After` / 504, an `RpcException`, a GraphQL error with
 * `extensions.code` `CIRCUIT_OPEN` / `CIRCUIT_TIMEOUT`, a `WsException`. `CircuitBreakerModule`
 * installs it for every route, resolver, message handler and gateway of the application; nothing
 * to register. A filter costs nothing on a request that does not fail.
 *
 * Precedence, in Nest's order: a filter you bind to a route or controller (`@UseFilters`) comes
 * first, whatever it catches. Among global filters this one comes first, but a global filter of
 * yours that names `CircuitOpenError` or `CircuitBreakerTimeoutError` in its `@Catch()` receives
 * the error as it is; any other global filter (a catch-all, `@Catch(HttpException)`) receives the
 * transport's error this filter made of it. `errorFactory` (module option) replaces that error.
 *
 * A key a family refused (`CircuitBreakerKeyError`, from a keyed `@UseCircuitBreaker` whose key
 * function returned a bad key) is the caller's mistake: HTTP 400 (not a 500 logged with its stack
 * on every request), an `RpcException` / GraphQL error / `WsException` saying so. `errorFactory`
 * does not see it (it is typed for the breaker's own errors); a filter of yours that names
 * `CircuitBreakerKeyError` receives it as it is.
 */
@Catch(CircuitOpenError, CircuitBreakerTimeoutError, CircuitBreakerKeyError)
@Injectable()
export class CircuitBreakerExceptionFilter implements ExceptionFilter<MappedError> {
  constructor(
    @Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) private readonly options: CircuitBreakerModuleOptions,
    private readonly config: ApplicationConfig,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {}

  catch(error: MappedError, host: ArgumentsHost): unknown {
    const type = host.getType<string>();
    const loading = loadTransport(type);
    if (loading === undefined) return this.handle(error, host, type);
    // The first error of this transport in the process: answer once its package is loaded, in the
    // form the transport takes from a filter (RPC: an Observable; GraphQL: a promise; WS: nothing).
    const handled = loading.then(() => this.handle(error, host, type));
    if (type === 'rpc') return from(handled).pipe(mergeMap((result) => (isObservable(result) ? result : of(result))));
    if (type === 'ws') {
      handled.catch((failure: unknown) => this.logger()?.error(`Could not send a circuit breaker error to a WebSocket client: ${String(failure)}`));
      return undefined;
    }
    return handled;
  }

  private handle(error: MappedError, host: ArgumentsHost, type: string): unknown {
    // Gateways have no global filters in Nest: there this filter is bound to the gateway class,
    // behind the gateway's own filters.
    const others = type === 'ws' ? [] : this.otherGlobalFilters();
    const claimant = others.find((filter) => namesBreakerError(filter, error));
    if (claimant !== undefined) return claimant.catch(error, host);

    const mapped = this.map(error, host, type);
    const next = others.find((filter) => catches(filter, mapped));
    if (next !== undefined) {
      const result = next.catch(mapped, host);
      // A filter written for another transport returns what that transport sends (Nest does the
      // same check): the HTTP request is still unanswered.
      if (type === 'http' && (isObservable(result) || result instanceof Error)) return this.answer(mapped, host, type);
      return result;
    }
    return this.answer(mapped, host, type);
  }

  /** The transport's error (or what `errorFactory` returns); on HTTP, sets `Retry-After`. */
  private map(error: MappedError, host: ArgumentsHost, type: string): unknown {
    if (isCircuitBreakerError(error)) {
      const custom = this.options.errorFactory?.(error, host);
      if (custom !== undefined) return custom;
    }
    if (type === 'http' && isCircuitBreakerError(error)) {
      const seconds = retryAfterSeconds(error);
      const adapter = this.adapterHost?.httpAdapter;
      const response: unknown = host.getArgByIndex(1);
      if (seconds !== undefined && adapter !== undefined && !adapter.isHeadersSent(response)) {
        // Through the adapter, so Express and Fastify both get the header.
        adapter.setHeader(response, 'Retry-After', seconds);
      }
    }
    return toTransportError(error, type, transportClasses);
  }

  /** What Nest's built-in filter of the transport does with the mapped error. */
  private answer(mapped: unknown, host: ArgumentsHost, type: string): unknown {
    if (type === 'http') {
      new BaseExceptionFilter(this.adapterHost?.httpAdapter).catch(mapped, host);
      return undefined;
    }
    const { BaseRpcExceptionFilter, BaseWsExceptionFilter } = transportClasses;
    if (type === 'rpc' && BaseRpcExceptionFilter !== null) return new BaseRpcExceptionFilter().catch(mapped, host);
    if (type === 'ws' && BaseWsExceptionFilter !== null) return new BaseWsExceptionFilter().catch(mapped, host);
    // GraphQL and other external contexts: what a resolver throws is what the client gets.
    throw mapped;
  }

  private logger(): LoggerService | undefined {
    const logger = this.options.logger;
    return logger === false ? undefined : (logger ?? new Logger('CircuitBreaker'));
  }

  /** The application's other global filters, in the order Nest tries them (last registered first). */
  private otherGlobalFilters(): Filter[] {
    const filters = this.config.getGlobalFilters() as Filter[];
    const others: Filter[] = [];
    for (let i = filters.length - 1; i >= 0; i--) {
      const filter = filters[i]!;
      if (!(filter instanceof CircuitBreakerExceptionFilter)) others.push(filter);
    }
    return others;
  }
}

function caughtTypes(filter: Filter): unknown[] {
  const types: unknown = Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, (filter as object).constructor);
  return Array.isArray(types) ? types : [];
}

/** `@Catch(CircuitOpenError)`, `@Catch(CircuitBreakerTimeoutError)` or `@Catch(CircuitBreakerKeyError)`, matching this error. */
function namesBreakerError(filter: Filter, error: MappedError): boolean {
  const named = error instanceof CircuitOpenError ? CircuitOpenError : error instanceof CircuitBreakerKeyError ? CircuitBreakerKeyError : CircuitBreakerTimeoutError;
  return caughtTypes(filter).includes(named);
}

function catches(filter: Filter, exception: unknown): boolean {
  const types = caughtTypes(filter);
  return types.length === 0 || types.some((type) => typeof type === 'function' && exception instanceof (type as abstract new () => unknown));
}
