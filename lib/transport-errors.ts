/**
 * What each transport sends for a breaker's own errors (an open circuit, a timeout): HTTP 503 /
 * 504, an `RpcException`, a GraphQL error, a `WsException`. The transport packages are optional
 * peers: each one is loaded once at bootstrap when it is installed; an application without it has
 * no context of that type to map.
 */
import { HttpException, HttpStatus } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './core/errors.js';

/** A breaker's own errors: the ones mapped to the transport. */
export type CircuitBreakerError = CircuitOpenError | CircuitBreakerTimeoutError;

export function isCircuitBreakerError(error: unknown): error is CircuitBreakerError {
  return error instanceof CircuitOpenError || error instanceof CircuitBreakerTimeoutError;
}

/** Filters written for a transport: `catch` answers (HTTP, WS) or returns what to send (RPC, GraphQL). */
interface TransportFilter {
  catch(exception: unknown, host: ArgumentsHost): unknown;
}

/** The classes of the optional transport packages, `null` for those not installed. */
export interface TransportClasses {
  readonly RpcException: (new (error: object) => Error) | null;
  readonly BaseRpcExceptionFilter: (new () => TransportFilter) | null;
  readonly WsException: (new (error: object) => Error) | null;
  readonly BaseWsExceptionFilter: (new () => TransportFilter) | null;
  readonly GraphQLError: (new (message: string, options: { extensions: Record<string, unknown>; originalError?: Error }) => Error) | null;
}

/** Loads the installed transport packages; what is not installed stays `null`. */
export async function loadTransportClasses(): Promise<TransportClasses> {
  const optional = <T>(load: () => Promise<T>): Promise<T | null> => load().then(undefined, () => null);
  const [microservices, websockets, graphql] = await Promise.all([
    optional(() => import('@nestjs/microservices') as Promise<{ RpcException: TransportClasses['RpcException']; BaseRpcExceptionFilter: TransportClasses['BaseRpcExceptionFilter'] }>),
    optional(() => import('@nestjs/websockets') as Promise<{ WsException: TransportClasses['WsException']; BaseWsExceptionFilter: TransportClasses['BaseWsExceptionFilter'] }>),
    optional(() => import('graphql') as Promise<{ GraphQLError: TransportClasses['GraphQLError'] }>),
  ]);
  return {
    RpcException: microservices?.RpcException ?? null,
    BaseRpcExceptionFilter: microservices?.BaseRpcExceptionFilter ?? null,
    WsException: websockets?.WsException ?? null,
    BaseWsExceptionFilter: websockets?.BaseWsExceptionFilter ?? null,
    GraphQLError: graphql?.GraphQLError ?? null,
  };
}

/** `extensions` of a GraphQL error, and the payload of a `WsException` (with `status: 'error'`). */
export function errorFields(error: CircuitBreakerError): Record<string, unknown> {
  return error instanceof CircuitOpenError
    ? { code: 'CIRCUIT_OPEN', breaker: error.breakerName, retryAfterMs: error.retryAfterMs }
    : { code: 'CIRCUIT_TIMEOUT', breaker: error.breakerName, timeoutMs: error.timeoutMs };
}

/** 503 (open) or 504 (timeout), with the body the README documents. Retry-After is set apart. */
export function toHttpException(error: CircuitBreakerError): HttpException {
  if (error instanceof CircuitBreakerTimeoutError) {
    return new HttpException(
      { statusCode: HttpStatus.GATEWAY_TIMEOUT, error: 'Gateway Timeout', message: error.message, breaker: error.breakerName, timeoutMs: error.timeoutMs },
      HttpStatus.GATEWAY_TIMEOUT,
      { cause: error },
    );
  }
  return new HttpException(
    { statusCode: HttpStatus.SERVICE_UNAVAILABLE, error: 'Service Unavailable', message: error.message, breaker: error.breakerName, retryAfterMs: error.retryAfterMs },
    HttpStatus.SERVICE_UNAVAILABLE,
    { cause: error },
  );
}

/** `Retry-After` in whole seconds, rounded up; none when no time is known (forced_open) or on a timeout. */
export function retryAfterSeconds(error: CircuitBreakerError): string | undefined {
  return error instanceof CircuitOpenError && error.retryAfterMs !== undefined ? String(Math.ceil(error.retryAfterMs / 1000)) : undefined;
}

/**
 * The transport's own error for a context type; the error itself for a context this library does
 * not know (a custom transport), or when the transport's package could not be loaded.
 */
export function toTransportError(error: CircuitBreakerError, type: string, classes: TransportClasses): unknown {
  switch (type) {
    case 'http':
      return toHttpException(error);
    case 'rpc':
      if (classes.RpcException === null) return error;
      return new classes.RpcException(
        error instanceof CircuitOpenError
          ? { status: 'circuit_open', message: error.message, breaker: error.breakerName, retryAfterMs: error.retryAfterMs }
          : { status: 'timeout', message: error.message, breaker: error.breakerName, timeoutMs: error.timeoutMs },
      );
    case 'graphql':
      if (classes.GraphQLError === null) return error;
      return new classes.GraphQLError(error.message, { extensions: errorFields(error), originalError: error });
    case 'ws':
      if (classes.WsException === null) return error;
      return new classes.WsException({ status: 'error', message: error.message, ...errorFields(error) });
    default:
      return error;
  }
}
