import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// prom-client is an optional peer: only the "nestjs-circuit-breaker/prometheus" subpath may reach
// it, and an application that imports the root entry (admin API included) must never load it.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as PackageJson;

/** Every lib file an entry loads, following relative imports and re-exports. */
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

describe('the nestjs-circuit-breaker/prometheus subpath', () => {
  it('is exported with the same import/require conditions as the root entry', () => {
    const rootEntry = JSON.stringify(pkg.exports['.']);
    expect(JSON.parse(rootEntry.replaceAll('/index.', '/prometheus/index.'))).toEqual(pkg.exports['./prometheus']);
    expect(pkg.exports['./prometheus']).toEqual({
      import: { types: './dist/esm/prometheus/index.d.ts', default: './dist/esm/prometheus/index.js' },
      require: { types: './dist/cjs/prometheus/index.d.ts', default: './dist/cjs/prometheus/index.js' },
    });
  });

  it('declares prom-client 15 as an optional peer dependency', () => {
    expect(pkg.peerDependencies['prom-client']).toBe('^15.0.0');
    expect(pkg.peerDependenciesMeta?.['prom-client']).toEqual({ optional: true });
  });

  it('is not reachable from the root entry, which never imports prom-client', () => {
    const graph = importGraph(join(root, 'lib/index.ts'));
    const files = [...graph.keys()].map((file) => relative(root, file));
    const specifiers = [...graph.values()].flat();

    expect(files).toContain('lib/admin/circuit-breaker-admin.controller.ts'); // the walk does follow the imports
    expect(files.filter((file) => file.startsWith('lib/prometheus/'))).toEqual([]);
    expect(specifiers.filter((specifier) => specifier.startsWith('prom-client'))).toEqual([]);
  });

  it('exports the module, the metrics service and the metric names from lib/prometheus/index.ts', async () => {
    const prometheus = await import('../../lib/prometheus/index.js');
    expect(Object.keys(prometheus).sort()).toEqual([
      'CIRCUIT_BREAKER_METRIC_NAMES',
      'CIRCUIT_BREAKER_PROMETHEUS_OPTIONS',
      'CircuitBreakerMetrics',
      'CircuitBreakerPrometheusModule',
      'DEFAULT_OPEN_DURATION_BUCKETS',
    ]);
  });
});
