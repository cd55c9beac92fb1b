// Loads every public entry point of the BUILT package the way consumers do, by its name (package
// self-reference through the "exports" map): `require` (CommonJS apps, e.g. NestJS 11) and `import`
// (ESM apps, e.g. NestJS 12). Run after `npm run build`; CI runs it on NestJS 12 and on NestJS 11.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const entries = {
  'nestjs-breaker': ['CircuitBreaker', 'CircuitBreakerModule', 'UseCircuitBreaker', 'InjectCircuitBreaker', 'CircuitBreakerRegistry', 'CircuitBreakerExceptionFilter', 'CircuitBreakerAdminModule', 'ManualClock', 'InMemoryCircuitBreakerStore'],
  'nestjs-breaker/health': ['CircuitBreakerHealthModule', 'CircuitBreakerHealthIndicator'],
  'nestjs-breaker/prometheus': ['CircuitBreakerPrometheusModule'],
  'nestjs-breaker/redis': ['RedisCircuitBreakerStore'],
  'nestjs-breaker/dashboard': ['CircuitBreakerDashboardModule'],
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
  breaker.execute(() => {
    throw new Error('down');
  });
} catch {}
try {
  breaker.execute(() => 1);
  failed = true;
  console.error('FAIL the CommonJS breaker did not open');
} catch (error) {
  if (!(error instanceof CircuitOpenError)) {
    failed = true;
    console.error('FAIL the CommonJS breaker threw something else than CircuitOpenError');
  } else console.log('ok   CommonJS breaker trips and rejects');
}
process.exit(failed ? 1 : 0);
