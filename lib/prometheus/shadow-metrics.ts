/**
 * Metrics of shadow configurations (the `shadows` breaker option): per breaker and shadow, the
 * would-be state and the would-be trips and rejections, read from `snapshot().shadows` at scrape
 * time like the other gauges. Keyed breakers' shadows are not exported (a label per key and shadow
 * would multiply the family's bounded series); the admin API and health details show them.
 */
import { Counter, Gauge } from 'prom-client';
import type { Metric } from 'prom-client';
import type { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { CircuitState } from '../core/states/index.js';
import type { CIRCUIT_BREAKER_METRIC_NAMES, CircuitBreakerPrometheusOptions } from './circuit-breaker-prometheus.options.js';

/** The states a shadow can be in (it is never forced, disabled or metrics_only). */
const SHADOW_STATES: readonly CircuitState[] = ['closed', 'open', 'half_open'];

export function shadowMetrics(
  metricName: (key: keyof typeof CIRCUIT_BREAKER_METRIC_NAMES) => string,
  registers: NonNullable<CircuitBreakerPrometheusOptions['registry']>[],
  breakers: CircuitBreakerRegistry,
): Metric[] {
  const shadowsOf = function* () {
    for (const breaker of breakers.getAll()) {
      if (breaker.options.shadows === undefined) continue;
      const shadows = breaker.snapshot().shadows;
      if (shadows !== undefined) for (const [shadow, s] of Object.entries(shadows)) yield { name: breaker.name, shadow, s };
    }
  };
  const state = new Gauge({
    name: metricName('shadowState'),
    help: 'Shadow configurations: 1 for the state the circuit would be in under the shadow, 0 for the others.',
    labelNames: ['name', 'shadow', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const { name, shadow, s } of shadowsOf()) for (const st of SHADOW_STATES) this.set({ name, shadow, state: st }, s.state === st ? 1 : 0);
    },
  });
  const wouldTrips = new Counter({
    name: metricName('shadowWouldTrips'),
    help: 'Shadow configurations: times the circuit would have opened under the shadow.',
    labelNames: ['name', 'shadow'] as const,
    registers,
    collect() {
      this.reset();
      for (const { name, shadow, s } of shadowsOf()) this.inc({ name, shadow }, s.wouldTrips);
    },
  });
  const wouldReject = new Counter({
    name: metricName('shadowWouldReject'),
    help: 'Shadow configurations: calls the shadow would have rejected (none was).',
    labelNames: ['name', 'shadow'] as const,
    registers,
    collect() {
      this.reset();
      for (const { name, shadow, s } of shadowsOf()) this.inc({ name, shadow }, s.wouldReject);
    },
  });
  return [state, wouldTrips, wouldReject];
}
