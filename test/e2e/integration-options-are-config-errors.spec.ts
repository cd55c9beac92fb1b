/**
 * One error class for every configuration error: the options of the admin, Prometheus and
 * dashboard modules fail at bootstrap like a breaker's, with a CircuitBreakerConfigError naming the
 * module, the option, the value and what is allowed.
 */
import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { CircuitBreakerAdminModule, CircuitBreakerConfigError, CircuitBreakerModule } from 'nestjs-breaker';
import type { CircuitBreakerAdminOptions } from 'nestjs-breaker';
import { CircuitBreakerDashboardModule } from 'nestjs-breaker/dashboard';
import type { CircuitBreakerDashboardOptions } from 'nestjs-breaker/dashboard';
import { CircuitBreakerPrometheusModule } from 'nestjs-breaker/prometheus';
import type { CircuitBreakerPrometheusOptions } from 'nestjs-breaker/prometheus';
import { Registry } from 'prom-client';
import { Apps } from './helpers.js';

function raised(build: () => unknown): CircuitBreakerConfigError {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    return error as CircuitBreakerConfigError;
  }
  throw new Error('expected a CircuitBreakerConfigError');
}

describe('integration modules: bad options are CircuitBreakerConfigError', () => {
  const apps = new Apps();
  afterEach(() => apps.closeAll());

  it.each<[string, CircuitBreakerAdminOptions, string, unknown]>([
    ['a path that is not a string', { path: 42 as unknown as string }, 'path', 42],
    ['guards that are not guards', { guards: [null as never] }, 'guards', [null]],
    ['a path climbing out with ..', { path: 'ops/../x' }, 'path', 'ops/../x'],
  ])('admin: %s', (_label, options, option, value) => {
    const error = raised(() => CircuitBreakerAdminModule.register(options));
    expect(error).toMatchObject({ source: 'CircuitBreakerAdminModule', option, value, breakerName: undefined });
  });

  it.each<[string, CircuitBreakerDashboardOptions, string, unknown]>([
    ['a sample interval below 100 ms', { sampleIntervalMs: 50 }, 'sampleIntervalMs', 50],
    ['readOnly that is not a boolean', { readOnly: 'yes' as unknown as boolean }, 'readOnly', 'yes'],
    ['a path starting with ..', { path: '../x' }, 'path', '../x'],
    ['a path with a .. inside', { path: '/x/../y' }, 'path', '/x/../y'],
    ['an adminPath with a . segment', { adminPath: './admin' }, 'adminPath', './admin'],
  ])('dashboard: %s', (_label, options, option, value) => {
    const error = raised(() => CircuitBreakerDashboardModule.register(options));
    expect(error).toMatchObject({ source: 'CircuitBreakerDashboardModule', option, value });
  });

  it.each<[string, CircuitBreakerPrometheusOptions, string, unknown]>([
    ['a negative topKeys', { topKeys: -1 }, 'topKeys', -1],
    ['a prefix with a dash', { prefix: 'my-app_' }, 'prefix', 'my-app_'],
    ['a registry that is not one', { registry: {} as unknown as Registry }, 'registry', {}],
    ['buckets out of order', { openDurationBuckets: [5, 1] }, 'openDurationBuckets', [5, 1]],
  ])('prometheus, at bootstrap: %s', async (_label, options, option, value) => {
    const error = await apps.bootstrapError({
      imports: [CircuitBreakerModule.forRoot({ logger: false }), CircuitBreakerPrometheusModule.forRoot({ registry: new Registry(), ...options })],
    });
    expect(error).toBeInstanceOf(CircuitBreakerConfigError);
    expect(error).toMatchObject({ source: 'CircuitBreakerPrometheusModule', option, value });
  });

  // A misspelt option silently ignored leaves a dashboard writable or an admin API unguarded: every
  // module refuses keys it does not know, with the nearest known option.
  class Guard {
    canActivate(): boolean {
      return true;
    }
  }

  it.each<[string, () => unknown, string, string, unknown, string]>([
    ['dashboard readonly', () => CircuitBreakerDashboardModule.register({ readonly: true, guards: [Guard] } as never), 'CircuitBreakerDashboardModule', 'readonly', true, 'readOnly'],
    ['admin guard', () => CircuitBreakerAdminModule.register({ guard: [Guard] } as never), 'CircuitBreakerAdminModule', 'guard', [Guard], 'guards'],
    ['prometheus topkeys', () => CircuitBreakerPrometheusModule.forRoot({ topkeys: 3 } as never), 'CircuitBreakerPrometheusModule', 'topkeys', 3, 'topKeys'],
  ])('refuses an unknown option at once (%s), suggesting the known one', (_label, build, source, option, value, meant) => {
    const error = raised(build);
    expect(error).toMatchObject({ source, option, value });
    expect(error.message).toContain(`did you mean "${meant}"?`);
  });

  it('names every known option when nothing is close', () => {
    const error = raised(() => CircuitBreakerAdminModule.register({ colour: 'red' } as never));
    expect(error.message).toBe('CircuitBreakerAdminModule: option "colour" must be absent ("colour" is not an option) (known options: path, guards, imports), got "red"');
  });
});
