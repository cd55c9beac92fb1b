import { Controller, Module, UseGuards } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { CircuitBreakerDashboardController as BaseController } from './circuit-breaker-dashboard.controller.js';
import { CIRCUIT_BREAKER_DASHBOARD_OPTIONS, resolveDashboardOptions } from './circuit-breaker-dashboard.options.js';
import type { CircuitBreakerDashboardOptions } from './circuit-breaker-dashboard.options.js';
import { DashboardHub } from './dashboard-hub.js';
import { DashboardSetup } from './dashboard-setup.js';

/**
 * Serves a live dashboard of the application's breakers: a self-contained page at `path` and its
 * event stream at `<path>/events`. The page's actions (force open, disable, metrics-only, reset)
 * post to the routes of the application's `CircuitBreakerAdminModule`, so its guards decide who
 * may act; `guards` here decide who may look.
 *
 * ```ts
 * CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers', guards: [AdminGuard] }),
 * CircuitBreakerDashboardModule.register({ guards: [SessionGuard] }), // page at /circuit-breakers
 * ```
 */
@Module({})
export class CircuitBreakerDashboardModule {
  static register(options: CircuitBreakerDashboardOptions = {}): DynamicModule {
    const resolved = resolveDashboardOptions(options);
    // A subclass per registration carries its own path and guards; the routes are inherited.
    const DashboardController = class CircuitBreakerDashboardController extends BaseController {};
    Controller(resolved.path)(DashboardController);
    if (resolved.guards.length > 0) UseGuards(...resolved.guards)(DashboardController);
    return {
      module: CircuitBreakerDashboardModule,
      imports: [DiscoveryModule, ...(options.imports ?? [])],
      controllers: [DashboardController],
      providers: [{ provide: CIRCUIT_BREAKER_DASHBOARD_OPTIONS, useValue: resolved }, DashboardHub, DashboardSetup],
    };
  }
}
