import { Controller, Module, Optional, UseGuards } from '@nestjs/common';
import type { CanActivate, DynamicModule, ModuleMetadata, NestModule, Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { CircuitBreakerConfigError } from '../core/errors.js';
import { refuseUnknownOptions } from '../unknown-options.js';
import { CircuitBreakerAdminController as BaseController } from './circuit-breaker-admin.controller.js';
import { acceptEmptyJsonBodies } from './empty-json-body.js';
import { ADMIN_REGISTRATION, UnguardedAdminWarning } from './unguarded-admin.warning.js';
import type { AdminRegistration } from './unguarded-admin.warning.js';

/** Options of {@link CircuitBreakerAdminModule.register}. */
export interface CircuitBreakerAdminOptions {
  /**
   * Where the routes are mounted. Default `'circuit-breakers'`, which is also the dashboard's
   * default page: with `CircuitBreakerDashboardModule`, give this one its own path (e.g.
   * `'admin/circuit-breakers'`). The app's global prefix applies too.
   */
  path?: string;
  /**
   * Guards applied to every admin route (`@UseGuards` on the controller), e.g. your API-key or
   * role guard. Guards the application registers globally (`APP_GUARD`) apply as well. Without
   * guards here, a warning is logged at bootstrap.
   */
  guards?: (Type<CanActivate> | CanActivate)[];
  /** Modules that provide what the guards inject (e.g. your ConfigModule). */
  imports?: ModuleMetadata['imports'];
}

const OPTION_KEYS: readonly (keyof CircuitBreakerAdminOptions)[] = ['path', 'guards', 'imports'];

export const CIRCUIT_BREAKER_ADMIN_OPTIONS = Symbol('CIRCUIT_BREAKER_ADMIN_OPTIONS');

/**
 * Mounts the admin HTTP API ({@link BaseController | CircuitBreakerAdminController}). Off unless imported. It can
 * switch breakers open or off for the whole application: always protect it with `guards` (a
 * registration without them logs a warning at bootstrap) and do not expose it publicly.
 *
 * ```ts
 * CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers', guards: [AdminGuard] })
 * ```
 */
@Module({})
export class CircuitBreakerAdminModule implements NestModule {
  constructor(@Optional() private readonly adapterHost?: HttpAdapterHost) {}

  /** Runs before Nest registers the routes: the Fastify hook for empty JSON bodies must be there first. */
  configure(): void {
    acceptEmptyJsonBodies(this.adapterHost?.httpAdapter);
  }

  static register(options: CircuitBreakerAdminOptions = {}): DynamicModule {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw CircuitBreakerConfigError.forComponent('CircuitBreakerAdminModule', 'options', options, 'an object');
    // A misspelt `guard` silently ignored would mount the admin API unguarded.
    refuseUnknownOptions('CircuitBreakerAdminModule', options, OPTION_KEYS);
    const path = options.path ?? 'circuit-breakers';
    if (typeof path !== 'string') {
      throw CircuitBreakerConfigError.forComponent('CircuitBreakerAdminModule', 'path', path, 'a string');
    }
    if (path.split('/').some((segment) => segment === '.' || segment === '..')) {
      throw CircuitBreakerConfigError.forComponent('CircuitBreakerAdminModule', 'path', path, 'a path without "." or ".." segments');
    }
    const guards = options.guards ?? [];
    if (!Array.isArray(guards) || guards.some((g) => g === null || (typeof g !== 'function' && typeof (g as CanActivate).canActivate !== 'function'))) {
      throw CircuitBreakerConfigError.forComponent('CircuitBreakerAdminModule', 'guards', guards, 'an array of guard classes or instances (CanActivate)');
    }
    // A subclass per registration carries its own path and guards; the routes are inherited.
    const AdminController = class CircuitBreakerAdminController extends BaseController {};
    Controller(path)(AdminController);
    if (guards.length > 0) UseGuards(...guards)(AdminController);
    return {
      module: CircuitBreakerAdminModule,
      imports: options.imports ?? [],
      controllers: [AdminController],
      // Also makes each registration's module metadata distinct (Nest deduplicates identical dynamic modules).
      providers: [
        { provide: CIRCUIT_BREAKER_ADMIN_OPTIONS, useValue: { ...options, path } },
        { provide: ADMIN_REGISTRATION, useValue: { path, guarded: guards.length > 0 } satisfies AdminRegistration },
        UnguardedAdminWarning,
      ],
    };
  }
}
