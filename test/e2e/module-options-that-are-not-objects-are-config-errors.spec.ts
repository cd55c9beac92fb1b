/**
 * Every register / forRoot / forFeature given null, a number, a string, a boolean or an array
 * fails with a CircuitBreakerConfigError when it is called (forRoot(null) threw a bare TypeError
 * from a destructuring; forFeature(null) silently declared nothing); undefined means the defaults.
 */
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { CircuitBreakerAdminModule, CircuitBreakerConfigError, CircuitBreakerModule } from 'nestjs-breaker';
import { CircuitBreakerDashboardModule } from 'nestjs-breaker/dashboard';
import { CircuitBreakerHttpModule } from 'nestjs-breaker/http';
import { CircuitBreakerPrometheusModule } from 'nestjs-breaker/prometheus';

const registrations: [string, (options: never) => unknown][] = [
  ['CircuitBreakerModule.forRoot', (options) => CircuitBreakerModule.forRoot(options)],
  ['CircuitBreakerModule.forFeature', (options) => CircuitBreakerModule.forFeature(options)],
  ['CircuitBreakerHttpModule.register', (options) => CircuitBreakerHttpModule.register(options)],
  ['CircuitBreakerDashboardModule.register', (options) => CircuitBreakerDashboardModule.register(options)],
  ['CircuitBreakerAdminModule.register', (options) => CircuitBreakerAdminModule.register(options)],
  ['CircuitBreakerPrometheusModule.forRoot', (options) => CircuitBreakerPrometheusModule.forRoot(options)],
];

const notObjects: [string, unknown][] = [
  ['null', null],
  ['a number', 42],
  ['a string', 'payments'],
  ['a boolean', true],
  ['an array', []],
];

describe('module options that are not objects', () => {
  describe.each(registrations)('%s', (_label, register) => {
    it.each(notObjects)('refuses %s with a CircuitBreakerConfigError naming the value', (_what, value) => {
      let raised: unknown;
      try {
        register(value as never);
      } catch (error) {
        raised = error;
      }
      expect(raised).toBeInstanceOf(CircuitBreakerConfigError);
      expect((raised as CircuitBreakerConfigError).value).toBe(value);
      expect((raised as Error).message).toMatch(/must be an object/);
    });

    it('takes undefined as the defaults', () => {
      expect(() => register(undefined as never)).not.toThrow();
    });
  });

  it('forRoot(null) says what forRootAsync says of a factory that returns null', () => {
    expect(() => CircuitBreakerModule.forRoot(null as never)).toThrow(
      new CircuitBreakerConfigError('(module)', 'CircuitBreakerModule options', null, 'an object'),
    );
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['an object with no useFactory, useClass or useExisting', { inject: [] }],
    ['useFactory: null', { useFactory: null }],
  ])('forRootAsync refuses %s', (_what, value) => {
    expect(() => CircuitBreakerModule.forRootAsync(value as never)).toThrow(
      'Circuit breaker "(module)": option "CircuitBreakerModule.forRootAsync options" must be an object with one of useFactory, useClass, useExisting',
    );
  });

  it('forRootAsync refuses a useFactory that is not a function', () => {
    expect(() => CircuitBreakerModule.forRootAsync({ useFactory: 42 } as never)).toThrow(
      'Circuit breaker "(module)": option "CircuitBreakerModule.forRootAsync useFactory" must be a function returning the module options (or a promise of them)',
    );
  });
});
