// A family whose threshold looks like a ratio (0.5 meant as 50 %) warns once, naming the family,
// however many keys get a breaker; its keys' breakers stay silent, reconfigured or not.
import { describe, expect, it, jest } from '@jest/globals';
import { CircuitBreaker, CircuitBreakerFamily, ManualClock } from 'nestjs-breaker';

/** Every process warning given while `run` runs. */
function processWarnings(run: () => void): string[] {
  const seen: string[] = [];
  const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error) => {
    seen.push(String(message));
  }) as typeof process.emitWarning);
  try {
    run();
  } finally {
    spy.mockRestore();
  }
  return seen;
}

describe('a rate threshold that looks like a ratio, in a family', () => {
  it('is warned about once for the family, naming it, not once per key', () => {
    const given: { message: string; code: string }[] = [];
    let shards: CircuitBreakerFamily | undefined;
    const fromProcess = processWarnings(() => {
      shards = new CircuitBreakerFamily({
        name: 'shards',
        clock: new ManualClock(),
        failureRateThreshold: 0.5,
        onWarning: (message, code) => given.push({ message, code }),
      });
      for (let i = 0; i < 50; i++) shards.get(`shard-${i}`);
    });
    expect(fromProcess).toEqual([]);
    expect(given).toHaveLength(1);
    expect(given[0]!.code).toBe('CIRCUIT_BREAKER_THRESHOLD_RATIO');
    expect(given[0]!.message).toContain('family "shards"');
    expect(given[0]!.message).toContain('failureRateThreshold 0.5');
    expect(given[0]!.message).toContain('percent');
    expect(given[0]!.message).not.toContain('shard-');
    shards!.dispose();
  });

  it('goes to process.emitWarning with its code when no onWarning is given, still once', () => {
    const codes: unknown[] = [];
    const seen: string[] = [];
    const spy = jest.spyOn(process, 'emitWarning').mockImplementation(((message: string | Error, options?: { code?: string }) => {
      seen.push(String(message));
      codes.push(options?.code);
    }) as typeof process.emitWarning);
    let tenants: CircuitBreakerFamily | undefined;
    try {
      tenants = new CircuitBreakerFamily({ name: 'tenants', clock: new ManualClock(), slowCallDurationMs: 100, slowCallRateThreshold: 0.8 });
      for (let i = 0; i < 20; i++) tenants.get(`t-${i}`);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('family "tenants"');
    expect(seen[0]).toContain('slowCallRateThreshold 0.8');
    expect(codes).toEqual(['CIRCUIT_BREAKER_THRESHOLD_RATIO']);
    tenants!.dispose();
  });

  it('a reconfiguration to a ratio warns once for the family; the keys alive and made later stay silent', () => {
    const given: string[] = [];
    const fromProcess = processWarnings(() => {
      const hosts = new CircuitBreakerFamily({ name: 'hosts', clock: new ManualClock(), onWarning: (message) => given.push(message) });
      for (let i = 0; i < 5; i++) hosts.get(`h-${i}`);
      expect(given).toEqual([]);
      hosts.reconfigure({ failureRateThreshold: 0.25 });
      hosts.reconfigure({ failureRateThreshold: 0.3 });
      for (let i = 5; i < 10; i++) hosts.get(`h-${i}`);
      expect(hosts.get('h-0').options.failureRateThreshold).toBe(0.3);
      hosts.dispose();
    });
    expect(fromProcess).toEqual([]);
    expect(given).toHaveLength(1);
    expect(given[0]).toContain('family "hosts"');
    expect(given[0]).toContain('failureRateThreshold 0.25');
  });

  it('thresholds of 1 and more give no warning', () => {
    const given: string[] = [];
    const shards = new CircuitBreakerFamily({ name: 'shards', clock: new ManualClock(), failureRateThreshold: 1, onWarning: (m) => given.push(m) });
    shards.get('a');
    shards.dispose();
    expect(given).toEqual([]);
  });

  it('a breaker made outside a family still warns for itself', () => {
    const seen = processWarnings(() => new CircuitBreaker({ name: 'alone', failureRateThreshold: 0.5 }).dispose());
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain('"alone"');
  });
});
