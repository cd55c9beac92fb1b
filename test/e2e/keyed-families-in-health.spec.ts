// The health indicator shows a family of keyed breakers as one entry: counts per state, the open
// keys listed up to a cap, the status the worst of its keys'. Terminus 11 has no `degraded`.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from '@jest/globals';
import { TerminusModule } from '@nestjs/terminus';
import { CircuitBreakerModule, CircuitBreakerRegistry, ManualClock } from '../../lib/index.js';
import { CircuitBreakerHealthIndicator, CircuitBreakerHealthModule } from '../../lib/health/index.js';
import { Apps, startApp } from './helpers.js';

const terminusVersion = (createRequire(import.meta.url)('@nestjs/terminus/package.json') as { version: string }).version;
const DEGRADED = Number(terminusVersion.split('.')[0]) >= 12 ? 'degraded' : 'up';

const apps = new Apps();
afterEach(() => apps.closeAll());

async function setup() {
  const clock = new ManualClock();
  const app = apps.track(
    await startApp({
      imports: [
        CircuitBreakerModule.forRoot({
          defaults: { clock, consecutiveFailureThreshold: 1, openDurationMs: 1_000 },
          breakers: { payments: {} },
          families: { shards: { maxKeys: 50 } },
        }),
        TerminusModule,
        CircuitBreakerHealthModule,
      ],
    }),
  );
  const registry = app.get(CircuitBreakerRegistry);
  return { clock, registry, indicator: app.get(CircuitBreakerHealthIndicator) };
}

const fail = (): never => {
  throw new Error('down');
};

describe('a family in health', () => {
  it('is one entry with counts per state and its open keys up to maxOpenKeys', async () => {
    const { registry, indicator } = await setup();
    const shards = registry.family('shards');
    for (let i = 0; i < 30; i++) shards.get(`s${String(i).padStart(2, '0')}`);
    for (const key of ['s07', 's03', 's21']) await shards.execute(key, fail).catch(() => undefined);
    const result = indicator.isHealthy('circuit_breakers', { maxOpenKeys: 2 });
    expect(Object.keys(result.circuit_breakers.breakers as object).sort()).toEqual(['payments', 'shards']);
    expect(result.circuit_breakers).toMatchObject({
      status: DEGRADED,
      breakers: {
        payments: { status: 'up', state: 'closed' },
        shards: {
          status: DEGRADED,
          family: true,
          keys: 30,
          maxKeys: 50,
          states: { closed: 27, open: 3, half_open: 0, forced_open: 0, disabled: 0, metrics_only: 0 },
          openKeys: ['s03', 's07'],
          openKeyCount: 3,
        },
      },
    });
  });

  it('is up with every key closed, and down with openAs "down" while a key is open', async () => {
    const { registry, indicator, clock } = await setup();
    const shards = registry.family('shards');
    shards.get('a');
    expect(indicator.isHealthy().circuit_breakers.status).toBe('up');
    await shards.execute('a', fail).catch(() => undefined);
    expect(indicator.isHealthy('circuit_breakers', { openAs: 'down' }).circuit_breakers).toMatchObject({ status: 'down', breakers: { shards: { status: 'down' } } });
    // Once the open duration is over the next call is a trial: not down, or no call would ever come.
    clock.advance(1_000);
    expect(indicator.isHealthy('circuit_breakers', { openAs: 'down' }).circuit_breakers.status).toBe(DEGRADED);
  });

  it('answers a family name or a family:key name in the breakers option', async () => {
    const { registry, indicator } = await setup();
    await registry.family('shards').execute('x', fail).catch(() => undefined);
    const result = indicator.isHealthy('selected', { breakers: ['shards', 'shards:x', 'shards:nope'] });
    expect(result.selected.breakers).toMatchObject({
      shards: { family: true, keys: 1, openKeys: ['x'] },
      'shards:x': { status: DEGRADED, state: 'open' },
      'shards:nope': { status: 'down', state: 'unknown' },
    });
    expect(registry.family('shards').has('nope')).toBe(false);
  });
});
