import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// Terminus is an optional peer: only the "nestjs-circuit-breaker/health" subpath may reach it, and
// an application that imports the root entry must never load it.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

/** Every lib file the root entry loads, following relative imports and re-exports. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const source = readFileSync(file, 'utf8');
    const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    graph.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  }
  return graph;
}

describe('the nestjs-circuit-breaker/health subpath', () => {
  it('is exported with the same import/require conditions as the root entry', () => {
    const rootEntry = JSON.stringify(pkg.exports['.']);
    expect(JSON.parse(rootEntry.replaceAll('/index.', '/health/index.'))).toEqual(pkg.exports['./health']);
    expect(pkg.exports['./health']).toEqual({
      import: { types: './dist/esm/health/index.d.ts', default: './dist/esm/health/index.js' },
      require: { types: './dist/cjs/health/index.d.ts', default: './dist/cjs/health/index.js' },
    });
  });

  it('declares @nestjs/terminus 11 or 12 as an optional peer dependency', () => {
    expect(pkg.peerDependencies['@nestjs/terminus']).toBe('^11.0.0 || ^12.0.0');
    expect(pkg.peerDependenciesMeta?.['@nestjs/terminus']).toEqual({ optional: true });
  });

  it('is not reachable from the root entry, which never imports @nestjs/terminus', () => {
    const graph = importGraph(join(root, 'lib/index.ts'));
    const files = [...graph.keys()].map((file) => relative(root, file));
    const specifiers = [...graph.values()].flat();

    expect(files).toContain('lib/circuit-breaker.registry.ts'); // the walk does follow the imports
    expect(files.filter((file) => file.startsWith('lib/health/'))).toEqual([]);
    expect(specifiers.filter((specifier) => specifier.startsWith('@nestjs/terminus'))).toEqual([]);
  });

  it('exports the module and the indicator from lib/health/index.ts', async () => {
    const health = await import('../../lib/health/index.js');
    expect(Object.keys(health).sort()).toEqual(['CircuitBreakerHealthIndicator', 'CircuitBreakerHealthModule']);
  });
});
