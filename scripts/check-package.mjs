// Loads every public entry point of the BUILT package the way consumers do, by its name (package
// self-reference through the "exports" map): `require` (CommonJS apps, e.g. NestJS 11) and `import`
// (ESM apps, e.g. NestJS 12). Run after `npm run build`; CI runs it on NestJS 12 and on NestJS 11.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const entries = {
  'nestjs-breaker': ['CircuitBreaker', 'CircuitBreakerModule', 'UseCircuitBreaker', 'InjectCircuitBreaker', 'CircuitBreakerRegistry', 'CircuitBreakerExceptionFilter', 'CircuitBreakerAdminModule', 'ManualClock', 'InMemoryCircuitBreakerStore'],
  'nestjs-breaker/health': ['CircuitBreakerHealthModule', 'CircuitBreakerHealthIndicator'],
  'nestjs-breaker/prometheus': ['CircuitBreakerPrometheusModule'],
  'nestjs-breaker/redis': ['RedisCircuitBreakerStore'],
  'nestjs-breaker/dashboard': ['CircuitBreakerDashboardModule'],
  'nestjs-breaker/store': ['InMemoryCircuitBreakerStore', 'isSharedState', 'resolveStoreOptions'],
};

let failed = false;
for (const [specifier, names] of Object.entries(entries)) {
  for (const [how, load] of [
    ['require', async () => require(specifier)],
    ['import', () => import(specifier)],
  ]) {
    try {
      const module = await load();
      const missing = names.filter((name) => typeof module[name] !== 'function');
      if (missing.length > 0) throw new Error(`missing exports: ${missing.join(', ')}`);
      console.log(`ok   ${how}('${specifier}')`);
    } catch (error) {
      failed = true;
      console.error(`FAIL ${how}('${specifier}'): ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
// The CommonJS copy must behave like the ESM one, not just load: a breaker trips and rejects.
const { CircuitBreaker, CircuitOpenError, ManualClock } = require('nestjs-breaker');
const breaker = new CircuitBreaker({ name: 'check', clock: new ManualClock(), minimumCalls: 1 });
try {
  breaker.executeSync(() => {
    throw new Error('down');
  });
} catch {}
try {
  breaker.executeSync(() => 1);
  failed = true;
  console.error('FAIL the CommonJS breaker did not open');
} catch (error) {
  if (!(error instanceof CircuitOpenError)) {
    failed = true;
    console.error('FAIL the CommonJS breaker threw something else than CircuitOpenError');
  } else console.log('ok   CommonJS breaker trips and rejects');
}
// The published CircuitBreaker declares its public API and nothing else: engine internals carry
// @internal and tsconfig.build.json strips them (a new public member is added here on purpose).
const PUBLIC_MEMBERS = new Set([
  'name', 'onInternalError', 'constructor', 'state', 'options', 'now', 'execute', 'executeSync', 'acquirePermission',
  'recordSuccess', 'recordFailure', 'releasePermission', 'countsAsFailure', 'forceOpen', 'disable', 'metricsOnly',
  'reset', 'reconfigure', 'snapshot', 'totals', 'onStateChange', 'onCall', 'dispose',
]);
for (const format of ['esm', 'cjs']) {
  const declaration = readFileSync(new URL(`../dist/${format}/core/circuit-breaker.d.ts`, import.meta.url), 'utf8');
  const body = declaration.slice(declaration.indexOf('export declare class CircuitBreaker {'));
  const members = [...body.slice(0, body.indexOf('\n}')).matchAll(/^ {4}(?:\/\*\*.*?\*\/ )?(?!private )(?:readonly |get |set |static )*([A-Za-z_$][\w$]*)\s*[<(:?]/gm)].map((m) => m[1]);
  const unexpected = members.filter((member) => !PUBLIC_MEMBERS.has(member));
  if (members.length === 0 || unexpected.length > 0) {
    failed = true;
    console.error(`FAIL dist/${format} CircuitBreaker declares ${members.length === 0 ? 'no members (not parsed)' : `members outside its public API: ${unexpected.join(', ')}`}`);
  } else console.log(`ok   dist/${format} CircuitBreaker declares only its public API (${members.length} members)`);
}
process.exit(failed ? 1 : 0);
