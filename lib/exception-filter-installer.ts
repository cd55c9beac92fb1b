/**
 * Puts CircuitBreakerExceptionFilter where Nest looks for filters, with no registration by the user.
 * This is the only code that touches Nest's filter lists.
 */
import { Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA } from '@nestjs/common/constants.js';
import { ApplicationConfig, DiscoveryService } from '@nestjs/core';
import { CircuitBreakerExceptionFilter } from './circuit-breaker-exception.filter.js';

/** `@WebSocketGateway()` marks its class with this key (`GATEWAY_METADATA` of @nestjs/websockets). */
const GATEWAY_METADATA = 'websockets:is_gateway';

type Detach = () => void;

@Injectable()
export class ExceptionFilterInstaller implements OnApplicationBootstrap, OnModuleDestroy {
  private detachers: Detach[] = [];

  constructor(filter: CircuitBreakerExceptionFilter, config: ApplicationConfig, discovery: DiscoveryService) {
    // Runs while Nest creates the application's instances: before any route, resolver, message
    // handler or gateway reads its filters (they do so once, at init).
    addAsGlobalFilterTriedFirst(config, filter);
    for (const wrapper of discovery.getProviders()) {
      const type: unknown = wrapper.metatype;
      if (typeof type === 'function' && Reflect.getMetadata(GATEWAY_METADATA, type) !== undefined) {
        this.detachers.push(bindToGateway(type, filter));
      }
    }
  }

  /** Gateways have read their filters by now (at init): leave the classes as they were. */
  onApplicationBootstrap(): void {
    this.detach();
  }

  /** An application that fails to bootstrap is closed without onApplicationBootstrap. */
  onModuleDestroy(): void {
    this.detach();
  }

  private detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
  }
}

/**
 * Global filters are read through `getGlobalFilters()` when each handler is built (at init), and Nest
 * tries the last one first. Registered with APP_FILTER, this filter would sit wherever module order
 * puts it, and a catch-all added later with `app.useGlobalFilters()` (in main.ts, as Nest's docs
 * show) would receive the raw error and answer 500. Appending it on every read keeps it first
 * whatever the registration order; it hands the error on to the other global filters itself.
 */
function addAsGlobalFilterTriedFirst(config: ApplicationConfig, filter: CircuitBreakerExceptionFilter): void {
  const read = config.getGlobalFilters.bind(config);
  // Request-scoped controllers read the list per request: rebuild it only when it changed
  // (useGlobalFilters replaces the array, APP_FILTER pushes onto it).
  let source: readonly unknown[] | undefined;
  let sourceLength = -1;
  let withFilter: ReturnType<ApplicationConfig['getGlobalFilters']> = [];
  config.getGlobalFilters = () => {
    const filters = read();
    if (filters !== source || filters.length !== sourceLength) {
      source = filters;
      sourceLength = filters.length;
      withFilter = [...filters.filter((other) => other !== filter), filter];
    }
    return withFilter;
  };
}

/**
 * Nest applies no global filter to gateways, so the filter is bound to each gateway class, tried after
 * the gateway's own filters, until the gateway has read its filters.
 */
function bindToGateway(type: object, filter: CircuitBreakerExceptionFilter): Detach {
  const own: unknown = Reflect.getOwnMetadata(EXCEPTION_FILTERS_METADATA, type);
  const current: unknown = Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, type);
  const filters = Array.isArray(current) ? current : [];
  // Nest tries class filters last-listed first: at the head of the list this one is tried last.
  Reflect.defineMetadata(EXCEPTION_FILTERS_METADATA, [filter, ...filters], type);
  return () => {
    const now: unknown = Reflect.getOwnMetadata(EXCEPTION_FILTERS_METADATA, type);
    if (!Array.isArray(now) || !now.includes(filter)) return;
    const rest = now.filter((other) => other !== filter);
    if (own === undefined && rest.length === filters.length && rest.every((other, i) => other === filters[i])) {
      Reflect.deleteMetadata(EXCEPTION_FILTERS_METADATA, type);
    } else {
      Reflect.defineMetadata(EXCEPTION_FILTERS_METADATA, rest, type);
    }
  };
}
