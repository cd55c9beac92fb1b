import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { LoggerService, OnApplicationBootstrap } from '@nestjs/common';
import { ApplicationConfig } from '@nestjs/core';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';

/** What the warning needs of a registration: its path and whether it has guards of its own. */
export interface AdminRegistration {
  readonly path: string;
  readonly guarded: boolean;
}

export const ADMIN_REGISTRATION = Symbol('nestjs-breaker:admin-registration');

/**
 * Warns at bootstrap when an admin API has no guards of its own: anyone who reaches the
 * application could force its breakers open, disable them or change their options. Global guards
 * are named but do not silence it (the usual one, a rate limiter, authenticates nobody). Bootstrap,
 * not registration: `app.useGlobalGuards()` and `setGlobalPrefix()` in main.ts are known by then.
 */
@Injectable()
export class UnguardedAdminWarning implements OnApplicationBootstrap {
  constructor(
    @Inject(ADMIN_REGISTRATION) private readonly registration: AdminRegistration,
    private readonly config: ApplicationConfig,
    @Optional() private readonly registry?: CircuitBreakerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    if (this.registration.guarded) return;
    const configured = this.registry?.moduleOptions.logger;
    if (configured === false) return;
    const logger: LoggerService = configured ?? new Logger('CircuitBreakerAdmin');
    const prefix = this.config.getGlobalPrefix();
    const url = `/${[prefix, this.registration.path].map((part) => part.replace(/^\/+|\/+$/g, '')).filter((part) => part !== '').join('/')}`;
    const globalGuards = [...this.config.getGlobalGuards(), ...this.config.getGlobalRequestGuards()].map(guardName);
    logger.warn(
      `UNPROTECTED ADMIN API: CircuitBreakerAdminModule at ${url} has no guards. Anyone who can reach this application can force ` +
        `its circuit breakers open, disable them or change their options. ` +
        (globalGuards.length > 0
          ? `Only the global guards (${globalGuards.join(', ')}) apply: if one of them authenticates admin requests, pass it in guards to say so. `
          : '') +
        `Pass guards to CircuitBreakerAdminModule.register({ guards: [YourAuthGuard] }).`,
    );
  }
}

function guardName(guard: unknown): string {
  const wrapped = (guard as { metatype?: { name?: string } }).metatype?.name; // request-scoped: an InstanceWrapper
  const name = wrapped ?? (guard as { constructor?: { name?: string } }).constructor?.name;
  return name === undefined || name === '' ? 'anonymous guard' : name;
}
