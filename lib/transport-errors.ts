/**
 * What each transport sends for a breaker's own errors (an open circuit, a timeout): HTTP 503 /
 * 504, an `RpcException`, a GraphQL error, a `WsException`; and for a key a family refused (400, or
 * the transport's "bad input"). The transport packages are optional: an application without one
 * has no context of that type to map.
 */
import { HttpException, HttpStatus } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { CircuitBreakerTimeoutError, CircuitOpenError } from './core/errors.js';
import { CircuitBreakerKeyError } from './family/family-options.js';

/** A breaker's own errors: the ones `errorFactory` sees. */
export type CircuitBreakerError = CircuitOpenError | CircuitBreakerTimeoutError;

/**
 * Every error mapped to the transport: a breaker's own, and a key a family refused. A key comes
 * from the request (a path parameter, a header), so a bad one is the caller's mistake: a 400, not
 * a 500 that Nest would log with its stack on every request.
 */
export type MappedError = CircuitBreakerError | CircuitBreakerKeyError;

export function isCircuitBreakerError(error: unknown): error is CircuitBreakerError {
  return error instanceof CircuitOpenError || error instanceof CircuitBreakerTimeoutError;
}

/** Filters written for a transport: `catch` answers (HTTP, WS) or returns what to send (RPC, GraphQL). */
interface TransportFilter {
  catch(exception: unknown, host: ArgumentsHost): unknown;
}

/** The classes of the optional transport packages: `null` until loaded, and when not installed. */
export interface TransportClasses {
  RpcException: (new (error: object) => Error) | null;
  BaseRpcExceptionFilter: (new () => TransportFilter) | null;
  WsException: (new (error: object) => Error) | null;
  BaseWsExceptionFilter: (new () => TransportFilter) | null;
  GraphQLError: (new (message: string, options: { extensions: Record<string, unknown>; originalError?: Error }) => Error) | null;
}

export const transportClasses: TransportClasses = {
  RpcException: null,
  BaseRpcExceptionFilter: null,
  WsException: null,
  BaseWsExceptionFilter: null,
  GraphQLError: null,
};

/**
 * Each package is loaded on the first breaker error of its context type, not at bootstrap: an app
 * that has it installed but does not use it pays nothing, and one that uses it has it loaded already
 * (its decorators come from it), so the load is a module-cache hit.
 */
const loaders: Record<string, () => Promise<void>> = {
  rpc: () =>
    (import('@nestjs/microservices') as Promise<Pick<TransportClasses, 'RpcException' | 'BaseRpcExceptionFilter'>>).then((m) => {
      transportClasses.RpcException = m.RpcException;
      transportClasses.BaseRpcExceptionFilter = m.BaseRpcExceptionFilter;
    }),
  ws: () =>
    (import('@nestjs/websockets') as Promise<Pick<TransportClasses, 'WsException' | 'BaseWsExceptionFilter'>>).then((m) => {
      transportClasses.WsException = m.WsException;
      transportClasses.BaseWsExceptionFilter = m.BaseWsExceptionFilter;
    }),
  graphql: () =>
    (import('graphql') as Promise<Pick<TransportClasses, 'GraphQLError'>>).then((m) => {
      transportClasses.GraphQLError = m.GraphQLError;
    }),
};
const loads = new Map<string, Promise<void> | 'done'>();

/**
 * Loads the package of a context type once; `undefined` once it is done (or for a context type
 * that needs none: HTTP, custom transports), so the error path stays synchronous after the first.
 * A package that is not installed leaves its classes `null`.
 */
export function loadTransport(type: string): Promise<void> | undefined {
  const load = loaders[type];
  if (load === undefined) return undefined;
  const state = loads.get(type);
  if (state === 'done') return undefined;
  if (state !== undefined) return state;
  const loading = load().then(
    () => void loads.set(type, 'done'),
    () => void loads.set(type, 'done'),
  );
  loads.set(type, loading);
  return loading;
}

/** `extensions` of a GraphQL error, and the payload of a `WsException` (with `status: 'error'`). */
export function errorFields(error: CircuitBreakerError): Record<string, unknown> {
  return error instanceof CircuitOpenError
    ? { code: 'CIRCUIT_OPEN', breaker: error.breakerName, retryAfterMs: error.retryAfterMs }
    : { code: 'CIRCUIT_TIMEOUT', breaker: error.breakerName, timeoutMs: error.timeoutMs };
}

/** The GraphQL `extensions.code` and WS payload `code` of a refused key. */
export const INVALID_KEY_CODE = 'CIRCUIT_BREAKER_INVALID_KEY';

/**
 * 503 (open), 504 (timeout) or 400 (a refused key), with the body docs/nestjs.md ("What the client
 * receives") documents. Retry-After is set apart.
 */
export function toHttpException(error: MappedError): HttpException {
  if (error instanceof CircuitBreakerKeyError) {
    // The message shows at most 60 characters of the key (CircuitBreakerKeyError's own rule), never
    // an object or array given as a key.
    return new HttpException(
      { statusCode: HttpStatus.BAD_REQUEST, error: 'Bad Request', message: error.message, family: error.familyName },
      HttpStatus.BAD_REQUEST,
      { cause: error },
    );
  }
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
export function toTransportError(error: MappedError, type: string, classes: TransportClasses): unknown {
  if (error instanceof CircuitBreakerKeyError) return toKeyTransportError(error, type, classes);
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

/** {@link toTransportError} for a refused key: the transport's way of saying "your input is wrong". */
function toKeyTransportError(error: CircuitBreakerKeyError, type: string, classes: TransportClasses): unknown {
  const fields = { code: INVALID_KEY_CODE, family: error.familyName };
  switch (type) {
    case 'http':
      return toHttpException(error);
    case 'rpc':
      if (classes.RpcException === null) return error;
      return new classes.RpcException({ status: 'invalid_key', message: error.message, family: error.familyName });
    case 'graphql':
      if (classes.GraphQLError === null) return error;
      return new classes.GraphQLError(error.message, { extensions: fields, originalError: error });
    case 'ws':
      if (classes.WsException === null) return error;
      return new classes.WsException({ status: 'error', message: error.message, ...fields });
    default:
      return error;
  }
}
