/** Metadata key written by @UseCircuitBreaker on the method it wraps. */
export const USE_CIRCUIT_BREAKER_METADATA = 'nestjs-breaker:use';

/** `usedBy` of a breaker built because @InjectCircuitBreaker asked for an undeclared name. */
export const INJECTED_BY = '@InjectCircuitBreaker';

/** DI token of the breaker named `name` (what @InjectCircuitBreaker(name) injects). */
export function getCircuitBreakerToken(name: string): string {
  return `nestjs-breaker:breaker:${name}`;
}

/** Which root registration built the module options ('CircuitBreakerModule.forRoot' or 'forRootAsync'). */
export const CIRCUIT_BREAKER_ROOT_REGISTRATION = 'nestjs-breaker:root-registration';
