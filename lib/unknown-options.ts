/**
 * Options objects of the modules refuse keys they do not know, at `register()` / `forRoot()`: a
 * misspelt option (`readonly` for `readOnly`) silently ignored would leave a dashboard writable or a
 * guard unset. The error names the key, its value, the nearest known option and all of them.
 */
import { closestName } from './closest-name.js';
import { CircuitBreakerConfigError } from './core/errors.js';

/** @internal The first key of `options` not in `known`, as a `CircuitBreakerConfigError` of `component`; nothing when all are known. */
export function refuseUnknownOptions(component: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    throw CircuitBreakerConfigError.forComponent(component, key, (options as Record<string, unknown>)[key], unknownOptionAllowed(key, known));
  }
}

/** @internal "absent: ... did you mean ...; known options: ..." (also for components whose errors are not config errors). */
export function unknownOptionAllowed(key: string, known: readonly string[]): string {
  const meant = closestName(key, known);
  return `absent ("${key}" is not an option${meant === undefined ? '' : `; did you mean "${meant}"?`}) (known options: ${known.join(', ')})`;
}

/** @internal "; did you mean "x"?" for a message, or '' when nothing is close. */
export function didYouMean(key: string, known: readonly string[]): string {
  const meant = closestName(key, known);
  return meant === undefined ? '' : ` (did you mean "${meant}"?)`;
}
