import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// Terminus, prom-client, ioredis and @opentelemetry/api are optional peers: only their subpaths may reach them, and an
// application that imports the root entry must never load them.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

interface PackageJson {
  exports: Record<string, unknown>;
  typesVersions: Record<string, Record<string, string[]>>;
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
    // Static imports and re-exports only (`import x from`, `export * from`, `import 'x'`), not `import('x')`.
    const specifiers = [...source.matchAll(/(?:^|\n)\s*(?:import|export)\s(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    graph.set(file, specifiers);
    for (const specifier of specifiers) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
  }
  return graph;
}

const subpaths = [
  {
    subpath: 'health',
    peer: '@nestjs/terminus',
    range: '^11.0.0 || ^12.0.0',
    load: () => import('../../lib/health/index.js'),
    exportsNames: ['CircuitBreakerHealthIndicator', 'CircuitBreakerHealthModule'],
  },
  {
    subpath: 'prometheus',
    peer: 'prom-client',
    range: '^15.0.0',
    load: () => import('../../lib/prometheus/index.js'),
    exportsNames: [
      'CIRCUIT_BREAKER_METRIC_NAMES',
      'CIRCUIT_BREAKER_PROMETHEUS_OPTIONS',
      'CircuitBreakerMetrics',
      'CircuitBreakerPrometheusModule',
      'DEFAULT_OPEN_DURATION_BUCKETS',
    ],
  },
  {
    subpath: 'redis',
    peer: 'ioredis',
    range: '^5.0.0 || ^6.0.0',
    load: () => import('../../lib/redis/index.js'),
    exportsNames: ['RedisCircuitBreakerStore'],
  },
  {
    subpath: 'opentelemetry',
    peer: '@opentelemetry/api',
    range: '^1.9.0',
    load: () => import('../../lib/opentelemetry/index.js'),
    exportsNames: [
      'CALL_DURATION_BUCKETS',
      'CIRCUIT_BREAKER_ATTRIBUTES',
      'CIRCUIT_BREAKER_INSTRUMENTS',
      'CIRCUIT_BREAKER_OPENTELEMETRY_OPTIONS',
      'CIRCUIT_BREAKER_SPAN_EVENTS',
      'CircuitBreakerOpenTelemetry',
      'CircuitBreakerOpenTelemetryModule',
      'METER_NAME',
      'instrumentOpenTelemetry',
    ],
  },
];

// nestjs-breaker/http: its optional peers are loaded only when CircuitBreakerHttpModule starts, so
// the subpath itself (breakerFetch) loads without them; the exports-map check is in the list below.
describe('the nestjs-breaker/http subpath', () => {
  it('declares @nestjs/axios and axios as optional peer dependencies', () => {
    expect(pkg.peerDependencies['@nestjs/axios']).toBe('^4.0.0 || ^12.0.0');
    expect(pkg.peerDependencies['axios']).toBe('^1.6.0');
    expect(pkg.peerDependenciesMeta?.['@nestjs/axios']).toEqual({ optional: true });
    expect(pkg.peerDependenciesMeta?.['axios']).toEqual({ optional: true });
    expect(pkg.typesVersions['*']['http']).toEqual(['./dist/cjs/http/index.d.ts']);
  });

  it('is not reachable from the root entry, and imports neither peer statically', () => {
    const rootFiles = [...importGraph(join(root, 'lib/index.ts')).keys()].map((file) => relative(root, file));
    expect(rootFiles.filter((file) => file.startsWith('lib/http/'))).toEqual([]);
    const specifiers = [...importGraph(join(root, 'lib/http/index.ts')).values()].flat();
    expect(specifiers.filter((s) => s === 'axios' || s.startsWith('@nestjs/axios'))).toEqual([]);
  });

  it('exports exactly its public names', async () => {
    expect(Object.keys(await import('../../lib/http/index.js')).sort()).toEqual([
      'CIRCUIT_BREAKER_HTTP_OPTIONS',
      'CircuitBreakerHttpModule',
      'DEFAULT_MAX_RETRY_AFTER_MS',
      'breakerFetch',
      'hostKey',
      'httpBreakerSettings',
      'httpRetryAfterMs',
      'isCancellation',
      'isFailureStatus',
      'isHttpFailure',
      'isHttpResultFailure',
      'statusOf',
    ]);
  });
});

describe.each(subpaths)('the nestjs-breaker/$subpath subpath', ({ subpath, peer, range, load, exportsNames }) => {
  it('is exported with the same module-sync/import/require conditions as the root entry', () => {
    const rootEntry = JSON.stringify(pkg.exports['.']);
    expect(JSON.parse(rootEntry.replaceAll('/index.', `/${subpath}/index.`))).toEqual(pkg.exports[`./${subpath}`]);
    expect(pkg.exports[`./${subpath}`]).toEqual({
      'module-sync': `./dist/esm/${subpath}/index.js`,
      import: { types: `./dist/esm/${subpath}/index.d.ts`, default: `./dist/esm/${subpath}/index.js` },
      require: { types: `./dist/cjs/${subpath}/index.d.ts`, default: `./dist/cjs/${subpath}/index.js` },
    });
  });

  it(`declares ${peer} as an optional peer dependency`, () => {
    expect(pkg.peerDependencies[peer]).toBe(range);
    expect(pkg.peerDependenciesMeta?.[peer]).toEqual({ optional: true });
  });

  it(`is not reachable from the root entry, which never imports ${peer}`, () => {
    const graph = importGraph(join(root, 'lib/index.ts'));
    const files = [...graph.keys()].map((file) => relative(root, file));
    const specifiers = [...graph.values()].flat();

    expect(files).toContain('lib/circuit-breaker.registry.ts'); // the walk does follow the imports
    expect(files.filter((file) => file.startsWith(`lib/${subpath}/`))).toEqual([]);
    expect(specifiers.filter((specifier) => specifier.startsWith(peer))).toEqual([]);
  });

  it('exports exactly its public names', async () => {
    expect(Object.keys(await load()).sort()).toEqual(exportsNames);
  });
});

describe('the optional transports (RPC, WebSockets, GraphQL)', () => {
  it('are never imported statically by the root entry: the exception filter loads them only if installed', () => {
    const specifiers = [...importGraph(join(root, 'lib/index.ts')).values()].flat();
    const transports = ['@nestjs/microservices', '@nestjs/websockets', '@nestjs/graphql', '@nestjs/apollo', 'graphql'];
    expect(specifiers.filter((specifier) => transports.some((name) => specifier === name || specifier.startsWith(`${name}/`)))).toEqual([]);
  });
});

// The dashboard needs no optional peer, but it is still reached only through its subpath: an
// application that does not mount it loads none of it (page, script, stream).
describe('the nestjs-breaker/dashboard subpath', () => {
  it('is exported with the same import/require conditions as the root entry, and typed for node10 resolution', () => {
    expect(pkg.exports['./dashboard']).toEqual({
      'module-sync': './dist/esm/dashboard/index.js',
      import: { types: './dist/esm/dashboard/index.d.ts', default: './dist/esm/dashboard/index.js' },
      require: { types: './dist/cjs/dashboard/index.d.ts', default: './dist/cjs/dashboard/index.js' },
    });
    expect(pkg.typesVersions['*']['dashboard']).toEqual(['./dist/cjs/dashboard/index.d.ts']);
  });

  it('is not reachable from the root entry', () => {
    const files = [...importGraph(join(root, 'lib/index.ts')).keys()].map((file) => relative(root, file));
    expect(files).toContain('lib/admin/circuit-breaker-admin.module.ts');
    expect(files.filter((file) => file.startsWith('lib/dashboard/'))).toEqual([]);
  });

  it('exports exactly its public names', async () => {
    expect(Object.keys(await import('../../lib/dashboard/index.js')).sort()).toEqual(['CircuitBreakerDashboardModule', 'SAMPLE_FIELDS']);
  });
});

// Tuning (trace format, replay, suggest) needs no peer either; it reads files with node:fs, so an
// application that only uses breakers must not load it.
describe('the nestjs-breaker/tuning subpath', () => {
  it('is exported with the same conditions as the root entry, and typed for node10 resolution', () => {
    expect(pkg.exports['./tuning']).toEqual({
      'module-sync': './dist/esm/tuning/index.js',
      import: { types: './dist/esm/tuning/index.d.ts', default: './dist/esm/tuning/index.js' },
      require: { types: './dist/cjs/tuning/index.d.ts', default: './dist/cjs/tuning/index.js' },
    });
    expect(pkg.typesVersions['*']['tuning']).toEqual(['./dist/cjs/tuning/index.d.ts']);
  });

  it('is not reachable from the root entry', () => {
    const files = [...importGraph(join(root, 'lib/index.ts')).keys()].map((file) => relative(root, file));
    expect(files).toContain('lib/core/circuit-breaker.ts');
    expect(files.filter((file) => file.startsWith('lib/tuning/') || file.startsWith('lib/cli/'))).toEqual([]);
  });

  it('reaches the engine only through its public entry (lib/core/index.ts)', () => {
    const graph = importGraph(join(root, 'lib/tuning/index.ts'));
    const intoCore = [...graph].flatMap(([file, specifiers]) =>
      file.includes('/lib/tuning/') ? specifiers.filter((s) => s.includes('core/')).map((s) => relative(root, resolve(dirname(file), s))) : [],
    );
    expect(intoCore.length).toBeGreaterThan(0);
    expect([...new Set(intoCore)]).toEqual(['lib/core/index.js']);
  });

  it('exports exactly its public names', async () => {
    expect(Object.keys(await import('../../lib/tuning/index.js')).sort()).toEqual([
      'CallRecorder',
      'CandidateConfigError',
      'DEFAULT_RECORD_MAX_BYTES',
      'DEFAULT_REORDER_WINDOW_MS',
      'DEFAULT_SUGGEST_GRID',
      'FLAP_WINDOW_MS',
      'REJECTED_INFERENCE_RULE',
      'RejectedCallInference',
      'ReplayRun',
      'SYNTHETIC_SCENARIOS',
      'TRACE_OUTCOMES',
      'Timeline',
      'TraceError',
      'TraceReader',
      'candidateConfig',
      'formatTraceRecord',
      'gridConfigs',
      'loadCandidateConfig',
      'paretoFront',
      'parseTraceRecord',
      'readTrace',
      'recordCalls',
      'replayTrace',
      'suggestConfigs',
      'syntheticCalls',
      'syntheticTrace',
    ]);
  });
});

describe('every entry point of the exports map', () => {
  it('lists module-sync (the ESM build) first, so that Node loads one copy for require and import alike', () => {
    const entries = Object.entries(pkg.exports).filter(([entry]) => entry !== './package.json');
    // the optional-peer subpaths above, plus those that need no peer or load their peers lazily
    expect(entries.map(([entry]) => entry).sort()).toEqual(['.', ...subpaths.map(({ subpath }) => `./${subpath}`), './dashboard', './store', './http', './tuning'].sort());
    for (const [entry, conditions] of entries) {
      const { import: esm } = conditions as { import: { default: string } };
      // Node takes the first condition it knows: module-sync must come before import and require.
      expect({ entry, conditions: Object.keys(conditions as object) }).toEqual({ entry, conditions: ['module-sync', 'import', 'require'] });
      expect({ entry, moduleSync: (conditions as Record<string, unknown>)['module-sync'] }).toEqual({ entry, moduleSync: esm.default });
    }
  });
});
