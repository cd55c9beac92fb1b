// Loads every public entry point of the BUILT package the way consumers do, by its name (package
// self-reference through the "exports" map): `require` (CommonJS apps, e.g. NestJS 11) and `import`
// (ESM apps, e.g. NestJS 12). Run after `npm run build`; CI runs it on Node 20, 22 and 24, with
// NestJS 12 and with NestJS 11.
//
// One copy of the classes: every entry's first condition is `module-sync` (the ESM build), which
// Node picks for `require` and `import` alike wherever it can require() ES modules (Node ^20.19 /
// >= 22.12, the `engines` range). So `require` and `import` must answer the very same objects, or a
// CommonJS app that also reaches the package through `import()` would hold two
// CircuitBreakerRegistry classes and Nest could not resolve one of them. require() of the ESM build
// also proves it has no top-level await (require(esm) refuses such a graph).
//
// The CommonJS build (dist/cjs, the `require` condition) is what tools that ignore `module-sync`
// load: Jest's CommonJS runtime (ts-jest in a NestJS 11 app), bundlers, older Node. It is loaded
// here by its path and must work on its own.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = require('../package.json');
/**
 * The root entry's runtime values, as docs/api.md lists them under `nestjs-breaker` (rows whose kind
 * is not `type`): the root must export exactly these, so that an internal cannot leak back into it.
 */
function documentedRootValues() {
  const page = readFileSync(join(root, 'docs/api.md'), 'utf8');
  const start = page.indexOf('\n## `nestjs-breaker`\n');
  const end = page.indexOf('\n## ', start + 1);
  if (start === -1) throw new Error('docs/api.md has no "## `nestjs-breaker`" section');
  const rows = [...page.slice(start, end === -1 ? undefined : end).matchAll(/^\| `([A-Za-z_$][\w$]*)` \| ([a-z]+) \|/gm)];
  return rows.filter((row) => row[2] !== 'type').map((row) => row[1]);
}
const ROOT_VALUES = documentedRootValues();

const entries = {
  'nestjs-breaker': ROOT_VALUES,
  'nestjs-breaker/health': ['CircuitBreakerHealthModule', 'CircuitBreakerHealthIndicator'],
  'nestjs-breaker/prometheus': ['CircuitBreakerPrometheusModule'],
  'nestjs-breaker/redis': ['RedisCircuitBreakerStore'],
  'nestjs-breaker/dashboard': ['CircuitBreakerDashboardModule'],
  'nestjs-breaker/store': ['InMemoryCircuitBreakerStore', 'isSharedState', 'resolveStoreOptions'],
  'nestjs-breaker/http': ['breakerFetch', 'CircuitBreakerHttpModule', 'httpBreakerSettings'],
  'nestjs-breaker/opentelemetry': ['CircuitBreakerOpenTelemetryModule', 'instrumentOpenTelemetry'],
  'nestjs-breaker/tuning': ['replayTrace', 'suggestConfigs', 'readTrace', 'formatTraceRecord', 'parseTraceRecord', 'syntheticTrace'],
};

let failed = false;
const fail = (message) => {
  failed = true;
  console.error(`FAIL ${message}`);
};
const missingNames = (module, names) => names.filter((name) => typeof module[name] !== 'function');

const subpathOf = (specifier) => (specifier === pkg.name ? '.' : `./${specifier.slice(pkg.name.length + 1)}`);
const unchecked = Object.keys(pkg.exports).filter((key) => key !== './package.json' && !Object.keys(entries).map(subpathOf).includes(key));
if (unchecked.length > 0) fail(`exports entries this script does not check: ${unchecked.join(', ')} (add them to its entries)`);

if (!process.features.require_module) {
  fail(`Node ${process.version} cannot require() ES modules, so it ignores "module-sync" and would load two copies of the package; engines says ${pkg.engines.node}`);
  process.exit(1);
}

for (const [specifier, names] of Object.entries(entries)) {
  const conditions = pkg.exports[subpathOf(specifier)];
  let required;
  let imported;
  try {
    required = require(specifier);
    const missing = missingNames(required, names);
    if (missing.length > 0) throw new Error(`missing exports: ${missing.join(', ')}`);
    console.log(`ok   require('${specifier}')`);
  } catch (error) {
    fail(`require('${specifier}'): ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    imported = await import(specifier);
    const missing = missingNames(imported, names);
    if (missing.length > 0) throw new Error(`missing exports: ${missing.join(', ')}`);
    console.log(`ok   import('${specifier}')`);
  } catch (error) {
    fail(`import('${specifier}'): ${error instanceof Error ? error.message : String(error)}`);
  }

  const esmFile = join(root, conditions['module-sync']);
  const resolved = { require: require.resolve(specifier), import: fileURLToPath(import.meta.resolve(specifier)) };
  if (resolved.require !== esmFile || resolved.import !== esmFile) {
    fail(`'${specifier}' should resolve to ${esmFile} for require and import, got ${JSON.stringify(resolved)}`);
  } else if (required !== undefined && imported !== undefined) {
    const twins = names.filter((name) => required[name] !== imported[name]);
    if (twins.length > 0) fail(`require('${specifier}') and import('${specifier}') give two copies of ${twins.join(', ')}`);
    else console.log(`ok   one copy: require and import('${specifier}') load ${conditions['module-sync']}`);
  }

  if (specifier === pkg.name) {
    for (const [how, module] of [['require', required], ['import', imported]]) {
      if (module === undefined) continue;
      const actual = Object.keys(module).filter((name) => name !== '__esModule' && name !== 'default').sort();
      const extra = actual.filter((name) => !names.includes(name));
      const missing = names.filter((name) => !actual.includes(name));
      if (extra.length > 0 || missing.length > 0) {
        fail(`${how}('${specifier}') must export exactly the values docs/api.md lists; not listed: ${extra.join(', ') || 'none'}; missing: ${missing.join(', ') || 'none'}`);
      } else console.log(`ok   ${how}('${specifier}') exports exactly the ${names.length} values docs/api.md lists`);
    }
  }

  try {
    const cjs = require(join(root, conditions.require.default));
    const missing = missingNames(cjs, names);
    if (missing.length > 0) throw new Error(`missing exports: ${missing.join(', ')}`);
    const extra = specifier === pkg.name ? Object.keys(cjs).filter((name) => name !== '__esModule' && name !== 'default' && !names.includes(name)) : [];
    if (extra.length > 0) throw new Error(`exports values docs/api.md does not list: ${extra.join(', ')}`);
    console.log(`ok   CommonJS build ${conditions.require.default}`);
  } catch (error) {
    fail(`CommonJS build of '${specifier}' (${conditions.require.default}): ${error instanceof Error ? error.message : String(error)}`);
  }
}

// The CommonJS build must behave like the ESM one, not just load: a breaker trips and rejects.
const { CircuitBreaker, CircuitOpenError, ManualClock } = require(join(root, pkg.exports['.'].require.default));
const breaker = new CircuitBreaker({ name: 'check', clock: new ManualClock(), minimumCalls: 1 });
try {
  await breaker.execute(() => {
    throw new Error('down');
  });
} catch {}
let outcome = 'resolved';
try {
  await breaker.execute(() => 1);
} catch (error) {
  outcome = error;
}
if (outcome instanceof CircuitOpenError) console.log("ok   the CommonJS build's breaker trips and rejects");
else fail(`the CommonJS build's breaker should reject with CircuitOpenError once open, got ${String(outcome)}`);

// The published CircuitBreaker declares its public API and nothing else: engine internals carry
// @internal and tsconfig.build.json strips them (a new public member is added here on purpose).
const PUBLIC_MEMBERS = {
  'core/circuit-breaker': {
    className: 'CircuitBreaker',
    members: new Set([
      'name', 'onInternalError', 'constructor', 'state', 'options', 'now', 'execute', 'executeSync', 'acquirePermission',
      'recordSuccess', 'recordFailure', 'releasePermission', 'countsAsFailure', 'forceOpen', 'disable', 'metricsOnly',
      'reset', 'reconfigure', 'snapshot', 'totals', 'onStateChange', 'onCall', 'dispose',
    ]),
  },
  // What an application reads and does through the registry; declaring names and the bootstrap
  // checks are the module's own (@internal).
  'circuit-breaker.registry': {
    className: 'CircuitBreakerRegistry',
    members: new Set([
      'stateChanges$', 'retired$', 'calls$', 'constructor', 'family', 'hasFamily', 'families', 'find', 'get', 'has',
      'isDeclared', 'declaredNames', 'getAll', 'reconfigure', 'fleet', 'fleetOptions$', 'onModuleDestroy',
    ]),
  },
};
for (const [file, { className, members: allowed }] of Object.entries(PUBLIC_MEMBERS)) {
  for (const format of ['esm', 'cjs']) {
    const declaration = readFileSync(new URL(`../dist/${format}/${file}.d.ts`, import.meta.url), 'utf8');
    const start = declaration.search(new RegExp(`export declare class ${className}\\b[^{]*\\{`));
    const body = start === -1 ? '' : declaration.slice(start);
    const members = [...body.slice(0, body.indexOf('\n}')).matchAll(/^ {4}(?:\/\*\*.*?\*\/ )?(?!private )(?:readonly |get |set |static )*([A-Za-z_$][\w$]*)\s*[<(:?]/gm)].map((m) => m[1]);
    const unexpected = members.filter((member) => !allowed.has(member));
    if (members.length === 0 || unexpected.length > 0) {
      fail(`dist/${format} ${className} declares ${members.length === 0 ? 'no members (not parsed)' : `members outside its public API: ${unexpected.join(', ')}`}`);
    } else console.log(`ok   dist/${format} ${className} declares only its public API (${members.length} members)`);
  }
}
// The command (package.json "bin", what `npx nestjs-breaker` runs): shipped, and runs the built package.
for (const [command, file] of Object.entries(pkg.bin ?? {})) {
  if (!pkg.files.includes(file.split('/')[0])) fail(`bin ${command} (${file}) is outside the published "files"`);
  try {
    const usage = execFileSync(process.execPath, [join(root, file), '--help'], { encoding: 'utf8' });
    if (!usage.includes('nestjs-breaker replay')) throw new Error(`unexpected output: ${usage.slice(0, 200)}`);
    console.log(`ok   bin ${command} (${file}) runs`);
  } catch (error) {
    fail(`bin ${command} (${file}): ${error instanceof Error ? error.message : String(error)}`);
  }
}
process.exit(failed ? 1 : 0);
