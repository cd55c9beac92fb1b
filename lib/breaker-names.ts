/**
 * Bootstrap checks on the names decorated methods use: two classes whose unnamed decorators make
 * the same name, options a decorator carries, and names no registration declares (with the
 * declared name they probably meant).
 */
import type { CircuitBreakerSettings } from './core/options.js';
import { CircuitBreakerConfigError } from './core/errors.js';
import { controllerPathOf } from './nest-internals.js';
import { closestName } from './closest-name.js';

/** One @UseCircuitBreaker method of one class, as the explorer found it. */
export interface DecoratedSite {
  /** The class whose instances Nest creates (a subclass inheriting the method included). */
  readonly type: object;
  readonly moduleName: string;
  /** `ClassName.methodName`. */
  readonly label: string;
  readonly name: string;
  readonly explicit: boolean;
  readonly options: CircuitBreakerSettings | undefined;
}

/** Throws when two different classes' unnamed decorators make one name (they would share a breaker). */
export function checkUnnamedCollisions(sites: readonly DecoratedSite[]): void {
  const first = new Map<string, DecoratedSite>();
  for (const site of sites) {
    if (site.explicit) continue;
    const other = first.get(site.name);
    if (other === undefined) {
      first.set(site.name, site);
    } else if (other.type !== site.type) {
      // Same label and module: two classes with one name (two files each exporting a
      // UsersController); only their role and route path can tell them apart.
      const alike = other.moduleName === site.moduleName;
      const where = (s: DecoratedSite): string => `${s.label} (module ${s.moduleName}${alike ? `, ${roleOf(s.type)}` : ''})`;
      const className = (site.type as { name?: string }).name ?? site.label.split('.')[0];
      throw new CircuitBreakerConfigError(
        site.name,
        'name',
        site.name,
        `an explicit name on at least one of two different classes${alike ? ` both named ${className}` : ''}: ${where(other)} and ` +
          `${where(site)} both use @UseCircuitBreaker() without a name, which would make them share ` +
          `the breaker "${site.name}"; write @UseCircuitBreaker('some-name') on one of them`,
      );
    }
  }
}

function roleOf(type: object): string {
  const path = controllerPathOf(type);
  return path === undefined ? 'provider' : `controller at ${path}`;
}

/** The source string a decorator's own options are declared under. */
export function decoratorSource(site: DecoratedSite): string {
  return `@UseCircuitBreaker(${site.explicit ? `'${site.name}'` : ''}) options on ${site.label} (module ${site.moduleName})`;
}

/** Where a decorator's breaker gets its name from, for the error about a `name` in its options. */
export function decoratorNameOrigin(site: DecoratedSite): string {
  const wanted = (site.options as { name?: unknown } | undefined)?.name;
  const instead = typeof wanted === 'string' && wanted.length > 0 ? `; for a breaker named ${JSON.stringify(wanted)}, write @UseCircuitBreaker('${wanted}')` : '';
  return site.explicit
    ? `the decorator's first argument (${JSON.stringify(site.name)})${instead}`
    : `${JSON.stringify(site.name)}, from the decorated method (ClassName.methodName)${instead}`;
}

/** The warning for a name used without a declaration (strict off), or undefined when it is declared. */
export function undeclaredWarning(name: string, usedBy: readonly string[], declared: readonly string[]): string {
  const meant = closestName(name, declared);
  return (
    `Circuit breaker "${name}" (used by ${usedBy.join(', ')}) is declared by no registration (forRoot, forRootAsync, ` +
    `forFeature or a decorator's options): it runs with the module defaults.` +
    (meant === undefined ? '' : ` Did you mean "${meant}"?`)
  );
}

export { closestName, editDistance } from './closest-name.js';
