import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { PROPERTY_DEPS_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { CircuitBreakerConfigError } from './core/errors.js';
import { INJECTED_BY, USE_CIRCUIT_BREAKER_METADATA, getCircuitBreakerToken } from './circuit-breaker.constants.js';
import { CircuitBreakerRegistry } from './circuit-breaker.registry.js';
import type { UseCircuitBreakerMetadata } from './decorators/use-circuit-breaker.decorator.js';
import { MethodBinding, bindClass, bindInstance } from './method-binding.js';
import type { FallbackInvoker, MethodShape } from './method-binding.js';

const AsyncFunction = (async () => {}).constructor;

/**
 * At bootstrap, finds every @UseCircuitBreaker method of this application's controllers and
 * providers, checks its configuration (fallback method, strict names) and binds it to this
 * application's breaker. Errors surface from `app.init()`.
 */
@Injectable()
export class CircuitBreakerExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly registry: CircuitBreakerRegistry,
  ) {}

  onModuleInit(): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    const injectedTokens = new Set<unknown>();
    for (const wrapper of wrappers) {
      this.collectInjectedTokens(wrapper, injectedTokens);
      this.bindMethods(wrapper);
    }
    this.checkUndeclared(injectedTokens);
  }

  private bindMethods(wrapper: InstanceWrapper): void {
    const instance: unknown = wrapper.instance;
    if (instance === null || typeof instance !== 'object') return;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (prototype === null || prototype === Object.prototype) return;
    const bindings = new Map<string, MethodBinding>();
    for (const method of this.scanner.getAllMethodNames(prototype)) {
      const fn = (prototype as Record<string, unknown>)[method];
      if (typeof fn !== 'function') continue;
      const metadata = Reflect.getMetadata(USE_CIRCUIT_BREAKER_METADATA, fn) as UseCircuitBreakerMetadata | undefined;
      if (metadata === undefined) continue;
      bindings.set(method, this.createBinding(metadata, instance.constructor.name, method, prototype));
    }
    if (bindings.size === 0) return;
    if (wrapper.isDependencyTreeStatic()) {
      for (const [method, binding] of bindings) bindInstance(instance, method, binding);
      return;
    }
    // Request-scoped / transient: Nest builds instances later, per context. Bind each one as Nest
    // stores it in its per-context host, so it gets this application's breakers even when another
    // application in the process uses the same class; the class binding is a last resort.
    for (const [method, binding] of bindings) bindClass(instance.constructor, method, binding);
    bindPerContextInstances(wrapper, bindings);
  }

  private createBinding(metadata: UseCircuitBreakerMetadata, className: string, method: string, prototype: object): MethodBinding {
    const site = `${className}.${method}`;
    let name: string;
    if (metadata.name !== undefined) {
      name = metadata.name;
      this.registry.assertDeclared(name, `@UseCircuitBreaker on ${site}`);
    } else {
      name = site; // options registered under that name if any, else defaults; never a strict error
    }
    const breaker = this.registry.get(name, `@UseCircuitBreaker on ${site}`);
    return new MethodBinding(breaker, this.shapeOf(metadata, prototype, method), this.fallbackOf(metadata, name, className, prototype));
  }

  private shapeOf(metadata: UseCircuitBreakerMetadata, prototype: object, method: string): MethodShape {
    const returnType = Reflect.getMetadata('design:returntype', prototype, method) as { name?: string } | undefined;
    if (returnType?.name === 'Observable') return 'observable';
    if (returnType === Promise || metadata.original instanceof AsyncFunction) return 'promise';
    return 'auto';
  }

  private fallbackOf(metadata: UseCircuitBreakerMetadata, name: string, className: string, prototype: object): FallbackInvoker | undefined {
    const fallback = metadata.options.fallback;
    if (fallback === undefined) return undefined;
    if (typeof fallback === 'function') {
      const fn = fallback as (...args: unknown[]) => unknown;
      return (instance, args, error) => fn.apply(instance, [...args, error]);
    }
    if (typeof (prototype as Record<string, unknown>)[fallback] !== 'function') {
      throw new CircuitBreakerConfigError(name, 'fallback', fallback, `the name of a method of ${className} (${className} has no method "${fallback}")`);
    }
    return (instance, args, error) =>
      ((instance as Record<string, (...a: unknown[]) => unknown>)[fallback] as (...a: unknown[]) => unknown).apply(instance, [...args, error]);
  }

  private collectInjectedTokens(wrapper: InstanceWrapper, tokens: Set<unknown>): void {
    const type = wrapper.metatype;
    if (typeof type !== 'function' || wrapper.inject) return;
    const params = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, type) ?? []) as { param: unknown }[];
    const properties = (Reflect.getMetadata(PROPERTY_DEPS_METADATA, type) ?? []) as { type: unknown }[];
    for (const p of params) tokens.add(p.param);
    for (const p of properties) tokens.add(p.type);
  }

  /**
   * Breakers built from defaults for @InjectCircuitBreaker names: in strict mode, one this
   * application really injects is an error; one it does not inject (a name another application of
   * the process uses) is dropped so it does not show up in health and metrics.
   */
  private checkUndeclared(injectedTokens: Set<unknown>): void {
    for (const [name, usedBy] of [...this.registry.undeclaredNames()]) {
      if (usedBy !== INJECTED_BY) continue;
      if (injectedTokens.has(getCircuitBreakerToken(name))) this.registry.assertDeclared(name, `@InjectCircuitBreaker('${name}')`);
      else this.registry.forget(name);
    }
  }
}

type InstanceHost = { instance: unknown };

function bindPerContextInstances(wrapper: InstanceWrapper, bindings: ReadonlyMap<string, MethodBinding>): void {
  const bind = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return;
    for (const [method, binding] of bindings) bindInstance(value, method, binding);
  };
  const hosts = new WeakSet<object>();
  const getInstanceByContextId = wrapper.getInstanceByContextId.bind(wrapper);
  wrapper.getInstanceByContextId = ((...args: Parameters<typeof getInstanceByContextId>) => {
    const host = getInstanceByContextId(...args) as unknown as InstanceHost | undefined;
    if (host !== undefined && host !== null && !hosts.has(host)) {
      hosts.add(host);
      let value = host.instance;
      bind(value);
      Object.defineProperty(host, 'instance', {
        configurable: true,
        enumerable: true,
        get: () => value,
        set: (next: unknown) => {
          value = next;
          bind(next);
        },
      });
    }
    return host;
  }) as typeof wrapper.getInstanceByContextId;
}
