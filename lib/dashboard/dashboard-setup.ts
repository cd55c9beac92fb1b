/**
 * Checks the dashboard against the application at bootstrap (errors surface from `app.init()`):
 * which admin API its actions post to, that the two are not mounted on one path, and whether
 * anything guards the page.
 */
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { LoggerService, OnModuleInit } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService } from '@nestjs/core';
import { CircuitBreakerAdminController } from '../admin/circuit-breaker-admin.controller.js';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import { CIRCUIT_BREAKER_DASHBOARD_OPTIONS, DEFAULT_PATH, normalizePath } from './circuit-breaker-dashboard.options.js';
import type { ResolvedDashboardOptions } from './circuit-breaker-dashboard.options.js';

export const UNGUARDED_WARNING =
  'CircuitBreakerDashboardModule is registered without guards: anyone who reaches this application can watch its breakers at ' +
  '"%s". Pass guards (e.g. a session or network guard) unless a global guard (APP_GUARD) or a proxy in front already protects it.';

@Injectable()
export class DashboardSetup implements OnModuleInit {
  /** Where actions post: a path relative to the global prefix like the dashboard's own, or absolute ("/..."); undefined when read-only. */
  adminPath: string | undefined;
  private readonly logger: LoggerService | undefined;

  constructor(
    @Inject(CIRCUIT_BREAKER_DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    private readonly discovery: DiscoveryService,
    @Optional() @Inject(CircuitBreakerRegistry) registry: CircuitBreakerRegistry | undefined,
  ) {
    const logger = registry?.moduleOptions.logger;
    this.logger = logger === false ? undefined : (logger ?? new Logger('CircuitBreakerDashboard'));
    // Here, not in onModuleInit: app.init() registers routes before the init hooks, and Fastify
    // refuses a second `GET /circuit-breakers` with a message that names neither module.
    assertApart(options.path, this.adminPaths());
  }

  onModuleInit(): void {
    const { path, readOnly, adminPath } = this.options;
    if (!readOnly) this.adminPath = this.resolveAdminPath(this.adminPaths(), adminPath);
    if (this.options.guards.length === 0) this.logger?.warn(UNGUARDED_WARNING.replace('%s', path));
  }

  private resolveAdminPath(found: string[], given: string | undefined): string {
    const where = found.length === 0 ? 'none is registered' : `found at ${found.map((p) => `"${p}"`).join(', ')}`;
    if (given !== undefined) {
      // An absolute path is the user's to vouch for (a proxy, RouterModule prefixes).
      if (given.startsWith('/') || found.includes(given)) return given;
      throw new Error(`CircuitBreakerDashboardModule: option "adminPath" is "${given}", but no CircuitBreakerAdminModule is registered at that path (${where}).`);
    }
    if (found.length === 1) return found[0]!;
    if (found.length === 0) {
      throw new Error(
        'CircuitBreakerDashboardModule: the page\'s actions go through the admin API, but no CircuitBreakerAdminModule is registered in this application. ' +
          "Register CircuitBreakerAdminModule.register({ path: 'admin/circuit-breakers', guards: [...] }), or pass readOnly: true.",
      );
    }
    throw new Error(`CircuitBreakerDashboardModule: several CircuitBreakerAdminModule registrations (${where}); set option "adminPath" to the one the page's actions use.`);
  }

  /** Paths of every controller serving the admin routes (registered by the module, or a user's subclass). */
  private adminPaths(): string[] {
    const paths: string[] = [];
    for (const wrapper of this.discovery.getControllers()) {
      const type = wrapper.metatype;
      if (typeof type !== 'function' || !(type.prototype instanceof CircuitBreakerAdminController)) continue;
      const declared = Reflect.getMetadata(PATH_METADATA, type) as string | string[] | undefined;
      for (const p of Array.isArray(declared) ? declared : [declared]) paths.push(normalizePath(p) ?? '');
    }
    return paths;
  }
}

/** Where the admin API goes when it collides with the dashboard: the first of these that does not. */
const ADMIN_PATHS_TO_SUGGEST = ['admin/circuit-breakers', 'admin/breakers', 'circuit-breakers-admin'];

function assertApart(dashboardPath: string, adminPaths: readonly string[]): void {
  const clash = adminPaths.find((admin) => overlaps(admin, dashboardPath));
  if (clash === undefined) return;
  const suggested = ADMIN_PATHS_TO_SUGGEST.find((candidate) => !overlaps(candidate, dashboardPath))!;
  const defaults = clash === DEFAULT_PATH && dashboardPath === DEFAULT_PATH ? ` (both default to "${DEFAULT_PATH}")` : '';
  throw new Error(
    `CircuitBreakerDashboardModule: path "${dashboardPath}" collides with the CircuitBreakerAdminModule at "${clash}"${defaults}, ` +
      `whose GET /:name route would answer the dashboard's requests. ` +
      `Pass the admin API a path of its own: CircuitBreakerAdminModule.register({ path: '${suggested}' }) (with your guards as before).`,
  );
}

/** The admin API's `GET <admin>/:name` would match the page (`<admin>/x`) or its stream (`<admin>/events`). */
function overlaps(adminPath: string, dashboardPath: string): boolean {
  const admin = adminPath === '' ? [] : adminPath.split('/');
  const dashboard = dashboardPath.split('/');
  const under = admin.every((segment, i) => dashboard[i] === segment);
  return under && (dashboard.length === admin.length || dashboard.length === admin.length + 1);
}
