import { Inject } from '@nestjs/common';
import { getCircuitBreakerToken } from '../circuit-breaker.constants.js';
import { CircuitBreakerConfigError } from '../core/errors.js';

const injectedNames = new Set<string>();

/**
 * Injects the breaker named `name` for direct use: `this.payments.execute(() => ...)`.
 * The name resolves against forRoot / forRootAsync / forFeature declarations; undeclared names get
 * a breaker from `defaults` unless `strict` is on.
 */
export function InjectCircuitBreaker(name: string): PropertyDecorator & ParameterDecorator {
  if (typeof name !== 'string' || name.length === 0) {
    throw new CircuitBreakerConfigError(String(name), 'name', name, 'a non-empty string (@InjectCircuitBreaker)');
  }
  injectedNames.add(name);
  return Inject(getCircuitBreakerToken(name));
}

/** Names seen by @InjectCircuitBreaker so far in this process (each app provides the ones it uses). */
export function injectedCircuitBreakerNames(): readonly string[] {
  return [...injectedNames];
}
