export { InjectCircuitBreaker } from './inject-circuit-breaker.decorator.js';
export { UseCircuitBreaker } from './use-circuit-breaker.decorator.js';
