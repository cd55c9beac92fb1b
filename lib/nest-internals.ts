/**
 * Everything this package reads from Nest's internals, in one file so a Nest release breaks one
 * place (checked against Nest 11 and 12 by the test suite):
 * - InstanceWrapper: `instance`, `isTransient`, `isDependencyTreeStatic()`,
 *   `getStaticTransientInstances()`, `getInstanceByContextId()` and the `{ instance }` hosts it
 *   returns, `host` (the module);
 * - the metadata keys under which `@Inject()` records constructor and property dependencies, and
 *   `@Controller()` its path.
 */
import { PATH_METADATA, PROPERTY_DEPS_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants.js';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';

type InstanceHost = { instance: unknown };

/**
 * Calls `bind` for every instance Nest creates for `wrapper`: the ones that exist at bootstrap
 * (a singleton; each transient instance injected into a singleton) and each one it creates later
 * (per request, per durable context, per transient consumer inside a request).
 */
export function forEachInstance(wrapper: InstanceWrapper, bind: (instance: unknown) => void): void {
  bind(wrapper.instance);
  if (wrapper.isTransient) {
    for (const host of wrapper.getStaticTransientInstances()) bind(host?.instance);
  }
  if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) bindPerContextInstances(wrapper, bind);
}

/**
 * Nest keeps a `{ instance }` host per context (and per consumer, for transient providers), reached
 * through `getInstanceByContextId`, and assigns the constructed instance to the host's `instance`
 * later. Each host is seen once: its current value is bound, and so is each value assigned after.
 */
function bindPerContextInstances(wrapper: InstanceWrapper, bind: (instance: unknown) => void): void {
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

/** The name of the module that declares `wrapper`'s provider or controller. */
export function moduleNameOf(wrapper: InstanceWrapper): string {
  const host = wrapper.host as { name?: unknown; metatype?: { name?: unknown } } | undefined;
  const name = host?.metatype?.name ?? host?.name;
  return typeof name === 'string' && name.length > 0 ? name : '(unknown module)';
}

/** The tokens a class asks for with `@Inject(token)` (constructor parameters and properties). */
export function injectedTokensOf(wrapper: InstanceWrapper): unknown[] {
  const type = wrapper.metatype;
  if (typeof type !== 'function' || wrapper.inject) return [];
  const params = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, type) ?? []) as { param: unknown }[];
  const properties = (Reflect.getMetadata(PROPERTY_DEPS_METADATA, type) ?? []) as { type: unknown }[];
  return [...params.map((p) => p.param), ...properties.map((p) => p.type)];
}

interface ModuleLike {
  readonly name: string;
  readonly providers: ReadonlyMap<unknown, unknown>;
  readonly imports: ReadonlySet<unknown>;
}

/** The names of the modules that import the module providing `token` (a forFeature registration). */
export function importersOf(modules: Iterable<unknown>, token: string): string[] {
  const all = [...modules] as ModuleLike[];
  const own = all.find((m) => m.providers.has(token));
  if (own === undefined) return [];
  return all.filter((m) => m.imports.has(own)).map((m) => m.name);
}

/**
 * The route path(s) `@Controller()` gave `type` (`'/users'`), or undefined for a class that is not
 * a controller: what tells apart two controllers that share a class name.
 */
export function controllerPathOf(type: object): string | undefined {
  const path: unknown = Reflect.getMetadata(PATH_METADATA, type);
  const paths = Array.isArray(path) ? (path as unknown[]) : [path];
  if (path === undefined || !paths.every((p) => typeof p === 'string')) return undefined;
  return (paths as string[]).map((p) => `'/${p.replace(/^\/+/, '')}'`).join(', ');
}
