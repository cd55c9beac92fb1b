import { HttpException, HttpStatus, Injectable, Optional } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { catchError, throwError } from 'rxjs';
import type { Observable } from 'rxjs';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './core/errors.js';
import type { CircuitBreakerModuleOptions } from './interfaces/circuit-breaker-module-options.interface.js';
import { CIRCUIT_BREAKER_MODULE_OPTIONS } from './circuit-breaker.module-definition.js';

type RpcExceptionClass = new (error: string | object) => Error;

// @nestjs/microservices is optional: loaded once, only to build RpcException for RPC contexts
// (an app without it has no RPC context to map).
let rpcException: RpcExceptionClass | null | undefined;
const rpcExceptionLoaded: Promise<void> = import('@nestjs/microservices').then(
  (m: { RpcException: RpcExceptionClass }) => {
    rpcException = m.RpcException;
  },
  () => {
    rpcException = null;
  },
);

/**
 * Maps a breaker's own errors to the transport's: HTTP 503 with `Retry-After` (open) or 504
 * (timeout); RPC: an `RpcException` carrying the breaker name and `retryAfterMs`; other contexts:
 * unchanged. Applied automatically to @UseCircuitBreaker route handlers; register it globally
 * (`APP_INTERCEPTOR`) to also map errors from decorated providers called by undecorated routes.
 */
@Injectable()
export class CircuitBreakerInterceptor implements NestInterceptor {
  private options: CircuitBreakerModuleOptions | undefined;

  constructor(
    @Optional() private readonly adapterHost?: HttpAdapterHost,
    @Optional() private readonly moduleRef?: ModuleRef,
  ) {}

  /** Resolves once the optional RPC support is loaded (tests await it before an RPC call). */
  static ready(): Promise<void> {
    return rpcExceptionLoaded;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(catchError((error: unknown) => throwError(() => this.map(error, context))));
  }

  map(error: unknown, context: ExecutionContext): unknown {
    if (!(error instanceof CircuitOpenError) && !(error instanceof CircuitBreakerTimeoutError)) return error;
    const custom = this.moduleOptions()?.errorFactory?.(error, context);
    if (custom !== undefined) return custom;
    const type = context.getType<string>();
    if (type === 'http') return this.toHttp(error, context);
    if (type === 'rpc' && rpcException) {
      return new rpcException(
        error instanceof CircuitOpenError
          ? { status: 'circuit_open', message: error.message, breaker: error.breakerName, retryAfterMs: error.retryAfterMs }
          : { status: 'timeout', message: error.message, breaker: error.breakerName, timeoutMs: error.timeoutMs },
      );
    }
    return error;
  }

  private toHttp(error: CircuitOpenError | CircuitBreakerTimeoutError, context: ExecutionContext): HttpException {
    if (error instanceof CircuitBreakerTimeoutError) {
      return new HttpException(
        { statusCode: HttpStatus.GATEWAY_TIMEOUT, error: 'Gateway Timeout', message: error.message, breaker: error.breakerName, timeoutMs: error.timeoutMs },
        HttpStatus.GATEWAY_TIMEOUT,
        { cause: error },
      );
    }
    const adapter = this.adapterHost?.httpAdapter;
    if (error.retryAfterMs !== undefined && adapter !== undefined) {
      // Through the adapter, so Express and Fastify both get the header.
      adapter.setHeader(context.switchToHttp().getResponse(), 'Retry-After', String(Math.ceil(error.retryAfterMs / 1000)));
    }
    return new HttpException(
      {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: error.message,
        breaker: error.breakerName,
        retryAfterMs: error.retryAfterMs,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
      { cause: error },
    );
  }

  private moduleOptions(): CircuitBreakerModuleOptions | undefined {
    if (this.options === undefined && this.moduleRef !== undefined) {
      try {
        this.options = this.moduleRef.get(CIRCUIT_BREAKER_MODULE_OPTIONS, { strict: false });
      } catch {
        this.options = {};
      }
    }
    return this.options;
  }
}
