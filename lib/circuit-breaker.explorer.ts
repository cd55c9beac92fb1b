import { Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import type { CircuitBreaker } from './core/circuit-breaker.js';
import { CircuitBreakerConfigError } from './core/errors.js';
import { INJECTED_BY, USE_CIRCUIT_BREAKER_METADATA, getCircuitBreakerToken } from './circuit-breaker.constants.js';
import { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import type { UseCircuitBreakerMetadata } from './decorators/use-circuit-breaker.decorator.js';
import { bindClass, bindInstance } from './binding-store.js';
import type { Bindings } from './binding-store.js';
import { checkUnnamedCollisions, decoratorNameOrigin, decoratorSource, undeclaredWarning } from './breaker-names.js';
import type { DecoratedSite } from './breaker-names.js';
import { MethodBinding } from './method-binding.js';
import type { FallbackInvoker } from './method-binding.js';
import { shapeHint } from './method-shape.js';
import { forEachInstance, injectedTokensOf, moduleNameOf } from './nest-internals.js';

/** A decorated method as found on a class (declared there or inherited). */
interface Site extends DecoratedSite {
  readonly wrapper: InstanceWrapper;
  readonly metadata: UseCircuitBreakerMetadata;
  /** The prototype that declares the method (its `design:returntype` is read there). */
  readonly declaredOn: object;
  readonly key: string | symbol;
  /** `{ key }` given: the name is a family of keyed breakers. */
  readonly keyed: boolean;
}

/** A name is one breaker or a family: every decorator using it must agree on having a `key`. */
function checkKeyedAgreement(sites: readonly Site[]): void {
  const first = new Map<string, Site>();
  for (const site of sites) {
    const other = first.get(site.name);
    if (other === undefined) first.set(site.name, site);
    else if (other.keyed !== site.keyed) {
      const [keyed, plain] = other.keyed ? [other, site] : [site, other];
      throw new CircuitBreakerConfigError(
        site.name,
        'key',
        undefined,
        `given on every decorator using the name or on none: ${keyed.label} (module ${keyed.moduleName}) uses "${site.name}" as a family ` +
          `of keyed breakers ({ key }) and ${plain.label} (module ${plain.moduleName}) as one breaker; give them different names`,
      );
    }
  }
}

/**
 * At bootstrap, finds every @UseCircuitBreaker method of this application's controllers and
 * providers (inherited ones included), checks names and configuration, and binds every instance
 * Nest creates of those classes to this application's breakers. Errors surface from `app.init()`.
 */
@Injectable()
export class CircuitBreakerExplorer implements OnModuleInit, OnModuleDestroy {
  private readonly unbindClasses: (() => void)[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: CircuitBreakerRegistry,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    const sites = wrappers.flatMap((wrapper) => sitesOf(wrapper));
    checkUnnamedCollisions(sites);
    checkKeyedAgreement(sites);
    // Decorators' own options are declarations: all of them before any breaker is looked up.
    for (const site of sites) {
      if (site.options === undefined) continue;
      if (site.keyed) this.registry.declareFamily(site.name, site.options, decoratorSource(site));
      else this.registry.declare(site.name, site.options, decoratorSource(site), decoratorNameOrigin(site));
    }
    const bindingsByType = new Map<object, Map<object, MethodBinding>>();
    for (const site of sites) {
      let bindings = bindingsByType.get(site.type);
      if (bindings === undefined) bindingsByType.set(site.type, (bindings = new Map()));
      if (!bindings.has(site.metadata)) bindings.set(site.metadata, this.createBinding(site));
    }
    const bound = new Set<InstanceWrapper>();
    for (const site of sites) {
      if (bound.has(site.wrapper)) continue;
      bound.add(site.wrapper);
      const bindings: Bindings = bindingsByType.get(site.type)!;
      forEachInstance(site.wrapper, (instance) => bindInstance(instance, bindings));
    }
    for (const [type, bindings] of bindingsByType) this.unbindClasses.push(bindClass(type, bindings));
    markSoleBindings(bindingsByType);
    this.checkUndeclared(wrappers, sites);
  }

  onModuleDestroy(): void {
    for (const unbind of this.unbindClasses.splice(0)) unbind();
  }

  private createBinding(site: Site): MethodBinding {
    const usedBy = site.explicit ? `@UseCircuitBreaker('${site.name}') on ${site.label}` : `@UseCircuitBreaker() on ${site.label}`;
    const key = site.metadata.options.key as ((...args: unknown[]) => string) | undefined;
    if (key !== undefined) {
      if (site.explicit) this.registry.assertFamilyDeclared(site.name, `${usedBy} (keyed)`);
      const family = this.registry.family(site.name, `${usedBy} (keyed)`);
      const hint = shapeHint(site.declaredOn, site.key, site.metadata.original);
      return new MethodBinding((instance, args) => family.get(key.apply(instance, args)), hint, this.fallbackOf(site), this.registry);
    }
    if (site.explicit) this.registry.assertDeclared(site.name, usedBy);
    const breaker = this.registry.get(site.name, usedBy);
    const hint = shapeHint(site.declaredOn, site.key, site.metadata.original);
    return new MethodBinding(breaker, hint, this.fallbackOf(site), this.registry);
  }

  private fallbackOf(site: Site): FallbackInvoker | undefined {
    const fallback = site.metadata.options.fallback;
    if (fallback === undefined) return undefined;
    if (typeof fallback === 'function') {
      const fn = fallback as (...args: unknown[]) => unknown;
      return (instance, args, error) => fn.apply(instance, [...args, error]);
    }
    const className = site.label.slice(0, site.label.lastIndexOf('.'));
    if (typeof (site.type as { prototype: Record<string, unknown> }).prototype[fallback] !== 'function') {
      throw new CircuitBreakerConfigError(site.name, 'fallback', fallback, `the name of a method of ${className} (${className} has no method "${fallback}")`);
    }
    return (instance, args, error) =>
      ((instance as Record<string, (...a: unknown[]) => unknown>)[fallback] as (...a: unknown[]) => unknown).apply(instance, [...args, error]);
  }

  /**
   * Names used but declared nowhere: in strict mode an error (at the first one), otherwise one
   * warning per name listing where it is used. Breakers built for @InjectCircuitBreaker names this
   * application does not inject (a name another application of the process uses) are dropped, so
   * they do not show up in health and metrics.
   */
  private checkUndeclared(wrappers: InstanceWrapper[], sites: readonly Site[]): void {
    const usedBy = new Map<string, string[]>();
    const use = (name: string, label: string): void => {
      let labels = usedBy.get(name);
      if (labels === undefined) usedBy.set(name, (labels = []));
      if (!labels.includes(label)) labels.push(label);
    };
    for (const site of sites) {
      if (site.explicit && !site.keyed && !this.registry.isDeclared(site.name)) use(site.name, `@UseCircuitBreaker('${site.name}') on ${site.label}`);
    }
    const families = new Map<string, string[]>();
    for (const site of sites) {
      if (!site.explicit || !site.keyed || this.registry.isFamilyDeclared(site.name)) continue;
      const labels = families.get(site.name) ?? [];
      families.set(site.name, [...labels, `@UseCircuitBreaker('${site.name}', { key }) on ${site.label}`]);
    }
    for (const [name, labels] of families) {
      this.registry.warn(
        `Circuit breaker family "${name}" (used by ${labels.join(', ')}) is declared by no registration (forRoot families, forRootAsync ` +
          `or a keyed decorator's options): its keys run with the module defaults and the default limits.`,
      );
    }
    const injectors = new Map<unknown, string[]>();
    for (const wrapper of wrappers) {
      for (const token of injectedTokensOf(wrapper)) {
        let classes = injectors.get(token);
        if (classes === undefined) injectors.set(token, (classes = []));
        classes.push(String(wrapper.name));
      }
    }
    for (const [name, firstUse] of [...this.registry.undeclaredNames()]) {
      if (firstUse !== INJECTED_BY) continue;
      const classes = injectors.get(getCircuitBreakerToken(name));
      if (classes === undefined) {
        if (!usedBy.has(name)) this.registry.forget(name);
        continue;
      }
      const injectedBy = classes.map((c) => `@InjectCircuitBreaker('${name}') in ${c}`);
      this.registry.assertDeclared(name, injectedBy.join(', '));
      for (const label of injectedBy) use(name, label);
    }
    const declared = this.registry.declaredNames();
    for (const [name, labels] of usedBy) this.registry.warn(undeclaredWarning(name, labels, declared));
  }
}

/** Every decorated method an instance of `wrapper` has, walking its class and base classes. */
function sitesOf(wrapper: InstanceWrapper): Site[] {
  const instance: unknown = wrapper.instance;
  if (instance === null || typeof instance !== 'object') return [];
  const type = (instance as { constructor: unknown }).constructor;
  if (typeof type !== 'function') return [];
  const className = type.name;
  const moduleName = moduleNameOf(wrapper);
  const sites: Site[] = [];
  for (let level = Object.getPrototypeOf(instance) as object | null; level !== null && level !== Object.prototype; level = Object.getPrototypeOf(level) as object | null) {
    for (const key of Reflect.ownKeys(level)) {
      if (key === 'constructor') continue;
      const fn = Object.getOwnPropertyDescriptor(level, key)?.value as unknown;
      if (typeof fn !== 'function') continue;
      const metadata = Reflect.getOwnMetadata(USE_CIRCUIT_BREAKER_METADATA, fn) as UseCircuitBreakerMetadata | undefined;
      if (metadata === undefined) continue;
      const label = `${className}.${String(key)}`;
      sites.push({
        wrapper,
        metadata,
        declaredOn: level,
        key,
        type,
        moduleName,
        label,
        name: metadata.name ?? label,
        explicit: metadata.name !== undefined,
        keyed: metadata.options.key !== undefined,
        options: metadata.options.options,
      });
    }
  }
  return sites;
}

/**
 * A breaker only one decorated method uses: no other decorated method can nest inside its calls,
 * so that binding may skip the per-call async context (see MethodBinding.invokePromise).
 */
function markSoleBindings(bindingsByType: ReadonlyMap<object, ReadonlyMap<object, MethodBinding>>): void {
  const users = new Map<CircuitBreaker, MethodBinding[]>();
  for (const bindings of bindingsByType.values()) {
    for (const binding of bindings.values()) {
      const breaker = binding.breaker;
      if (breaker === undefined) continue; // keyed: each call finds its breaker
      const list = users.get(breaker);
      if (list === undefined) users.set(breaker, [binding]);
      else list.push(binding);
    }
  }
  for (const list of users.values()) if (list.length === 1) list[0]!.soleUserOfItsBreaker();
}
