// A family of keyed breakers, framework-free, on a ManualClock: one breaker per key, named
// family:key, at most maxKeys of them, idle closed ones retired, open ones kept while they protect.
import { describe, expect, it } from '@jest/globals';
import { CircuitBreakerConfigError, CircuitBreakerFamily, CircuitBreakerKeyError, CircuitOpenError, InMemoryCircuitBreakerStore, ManualClock } from 'nestjs-breaker';
import type { BreakerRetiredEvent, CircuitBreakerFamilySettings, StateChangeEvent } from 'nestjs-breaker';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

const TTL = 60_000;

function family(settings: CircuitBreakerFamilySettings = {}, warnings: string[] = []) {
  const clock = new ManualClock();
  const shards = new CircuitBreakerFamily({
    name: 'shards',
    clock,
    consecutiveFailureThreshold: 1,
    openDurationMs: 5_000,
    idleTtlMs: TTL,
    onWarning: (message) => warnings.push(message),
    ...settings,
  });
  const retired: BreakerRetiredEvent[] = [];
  shards.onRetire((event) => retired.push(event));
  return { clock, shards, retired, warnings };
}

const fail = (): never => {
  throw new Error('shard down');
};

async function trip(shards: CircuitBreakerFamily, key: string): Promise<void> {
  await shards.execute(key, fail).catch(() => undefined);
}

describe('one breaker per key', () => {
  it('opens only the breaker of the failing key, named family:key', async () => {
    const { shards } = family();
    const changes: StateChangeEvent[] = [];
    shards.onStateChange((event) => changes.push(event));
    await expect(shards.execute('a', async () => 'a-ok')).resolves.toBe('a-ok');
    await trip(shards, 'b');
    await expect(shards.execute('b', async () => 'never')).rejects.toMatchObject({ name: 'CircuitOpenError', breakerName: 'shards:b' });
    await expect(shards.execute('a', async () => 'still')).resolves.toBe('still');
    expect(changes.map((e) => `${e.name} ${e.from}->${e.to}`)).toEqual(['shards:b closed->open']);
    expect(shards.get('a').name).toBe('shards:a');
    expect(shards.get('a')).toBe(shards.get('a'));
    expect(shards.keys().sort()).toEqual(['a', 'b']);
  });

  it('builds every key from the family options', () => {
    const { shards } = family({ timeoutMs: 250, failureRateThreshold: 20 });
    expect(shards.get('x').options).toMatchObject({ name: 'shards:x', timeoutMs: 250, failureRateThreshold: 20 });
  });

  it('summarises states and lists open keys up to a cap', async () => {
    const { shards } = family();
    for (const key of ['a', 'b', 'c', 'd']) shards.get(key);
    await trip(shards, 'd');
    await trip(shards, 'c');
    shards.get('a').forceOpen();
    const summary = shards.summary(2);
    expect(summary).toMatchObject({ name: 'shards', keys: 4, maxKeys: 1000, openKeys: ['a', 'c'], openKeyCount: 3 });
    expect(summary.states).toEqual({ closed: 1, open: 2, half_open: 0, forced_open: 1, disabled: 0, metrics_only: 0 });
  });

  it('resets every key, and reconfigures the keys alive and those made later', async () => {
    const { shards } = family();
    await trip(shards, 'a');
    shards.resetAll();
    expect(shards.get('a').state).toBe('closed');
    shards.reconfigure({ timeoutMs: 100 });
    expect(shards.get('a').options.timeoutMs).toBe(100);
    expect(shards.get('new').options.timeoutMs).toBe(100);
    expect(() => shards.reconfigure({ failureRateThreshold: 500 })).toThrow('Circuit breaker "shards": option "failureRateThreshold" must be a percentage in (0, 100], got 500');
    expect(shards.get('a').options.failureRateThreshold).toBe(50);
  });
});

describe('keys are caller input', () => {
  it('accepts printable keys, an ASCII space and non-Latin letters included', () => {
    const { shards } = family();
    for (const key of ['a b', 'café', 'київ', '東京', 'host:8080', '😀']) expect(shards.get(key).name).toBe(`shards:${key}`);
  });

  it.each([
    ['', 'is empty'],
    [42, 'is not a string'],
    [undefined, 'is not a string'],
    [{ id: 1 }, 'is not a string'],
    ['line\nbreak', 'contains a control character'],
    ['a\u200bb', 'contains U+200B, an invisible or format character'],
    ['evil\u202Etxt.exe', 'contains U+202E, an invisible or format character'],
    ['line\u2028sep', 'contains U+2028'],
    ['para\u2029sep', 'contains U+2029'],
    ['no\u00a0break', 'contains U+00A0'],
    ['\ufeffbom', 'contains U+FEFF'],
    ['ideographic\u3000space', 'contains U+3000'],
    ['hangul\u3164filler', 'contains U+3164'],
    ['half\uFFA0width', 'contains U+FFA0'],
    ['cgj\u034Fx', 'contains U+034F'],
    ['vs\uFE0Fx', 'contains U+FE0F'],
    ['braille\u2800blank', 'contains U+2800'],
    ['tag\u{E0041}x', 'contains U+E0041'],
    ['a\ud800', 'is not well-formed UTF-16'],
    ['a\udc00', 'is not well-formed UTF-16'],
    ['\udc00\ud800', 'is not well-formed UTF-16'],
    ['_overflow', 'is reserved'],
    ['x'.repeat(194), 'is 194 characters long (at most 193'],
  ])('%j: execute rejects with CircuitBreakerKeyError naming the family; nothing is made or recorded', async (key, problem) => {
    const { shards } = family();
    let called = false;
    const error = await shards
      .execute(key as string, () => {
        called = true;
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitBreakerKeyError);
    expect(error).toBeInstanceOf(TypeError);
    expect(error).toMatchObject({ familyName: 'shards', key });
    expect((error as Error).message).toContain('Circuit breaker family "shards": key');
    expect((error as Error).message).toContain(problem);
    expect(called).toBe(false);
    expect(shards.size).toBe(0);
    expect(() => shards.get(key as string)).toThrow(CircuitBreakerKeyError);
    expect(() => shards.executeSync(key as string, () => 1)).toThrow(CircuitBreakerKeyError);
  });

  it('a refusal message shows invisible characters as \\u escapes, never as they are (the message reaches logs and 400 bodies)', () => {
    const { shards } = family();
    for (const [key, shown] of [
      ['evil\u202Etxt', 'evil\\u202Etxt'],
      ['a\u2028b', 'a\\u2028b'],
      ['a\u0085b', 'a\\u0085b'],
      ['a\u{E0041}b', 'a\\u{E0041}b'],
      ['a\ud800', 'a\\uD800'],
    ] as const) {
      const message = thrown(() => shards.get(key)).message;
      expect(message).toContain(`key "${shown}"`);
      expect(message).not.toContain(key);
    }
  });

  it('accepts the longest key that keeps family:key within 200 characters, and any printable text', async () => {
    const { shards } = family();
    await expect(shards.execute('x'.repeat(193), async () => 1)).resolves.toBe(1);
    await expect(shards.execute('tenant/üñí code:7 *', async () => 2)).resolves.toBe(2);
  });
});

describe('configuration errors name the family', () => {
  it.each([
    [{ name: 'a:b' }, 'option "name" must be a family name'],
    [{ name: '' }, 'option "name" must be a family name'],
    [{ name: 'shards', maxKeys: 0 }, 'Circuit breaker "shards": option "maxKeys" must be an integer in [1, 1000000], got 0'],
    [{ name: 'shards', idleTtlMs: 10 }, 'Circuit breaker "shards": option "idleTtlMs" must be a number of ms in [1000, 2147483647], got 10'],
    [{ name: 'shards', timeoutMs: -1 }, 'Circuit breaker "shards": option "timeoutMs" must be a number of ms'],
    [{ name: 'shards', maxKeyz: 5 }, 'Circuit breaker "shards": option "maxKeyz" must be one of the known options'],
  ])('%j', (options, message) => {
    expect(() => new CircuitBreakerFamily(options as never)).toThrow(CircuitBreakerConfigError);
    expect(() => new CircuitBreakerFamily(options as never)).toThrow(message);
  });
});

describe('idle closed breakers are retired', () => {
  it('retires a key unused for idleTtlMs (within a quarter more), disposes it and tells listeners', async () => {
    const { shards, clock, retired } = family();
    const a = shards.get('a');
    shards.get('b');
    clock.advance(TTL / 2);
    await shards.execute('b', async () => 'used');
    clock.advance(TTL / 2 + TTL / 4);
    expect(retired.map((e) => [e.name, e.reason])).toEqual([['shards:a', 'idle']]);
    expect(retired[0]!.breaker).toBe(a);
    expect(shards.has('a')).toBe(false);
    expect(shards.has('b')).toBe(true);
    clock.advance(TTL);
    expect(retired.map((e) => e.key)).toEqual(['a', 'b']);
    // Back again: a fresh breaker.
    expect(shards.get('a')).not.toBe(a);
  });

  it('never retires an open, half-open or manually set breaker, however long it is unused', async () => {
    const { shards, clock, retired } = family({ openDurationMs: 10 * TTL });
    await trip(shards, 'open');
    shards.get('forced').forceOpen();
    shards.get('disabled').disable();
    clock.advance(5 * TTL);
    expect(retired).toEqual([]);
    expect(shards.keys().sort()).toEqual(['disabled', 'forced', 'open']);
    expect(shards.get('open').state).toBe('open');
  });

  it('keeps no timer once the family is empty, and disposes every breaker on dispose()', async () => {
    const { shards, clock } = family({ timeoutMs: 1_000 });
    shards.get('a');
    expect(clock.pendingTimers).toBe(1);
    clock.advance(2 * TTL);
    expect(shards.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    const pending = shards.execute('b', () => new Promise(() => undefined));
    expect(clock.pendingTimers).toBeGreaterThan(1); // the sweep and b's deadline
    shards.dispose();
    expect(clock.pendingTimers).toBe(1); // b's call keeps its deadline: it times out, it does not hang
    clock.advance(1_000);
    await expect(pending).rejects.toThrow(/timed out/);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('at maxKeys', () => {
  it('retires the least recently used closed breaker for a new key', async () => {
    const { shards, retired } = family({ maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) shards.get(key);
    await shards.execute('a', async () => 1); // b is now the least recently used
    shards.get('d');
    expect(retired.map((e) => [e.key, e.reason])).toEqual([['b', 'evicted']]);
    expect(shards.keys().sort()).toEqual(['a', 'c', 'd']);
    shards.get('e');
    shards.get('f');
    expect(retired.map((e) => e.key)).toEqual(['b', 'c', 'a']);
    expect(shards.size).toBe(3);
  });

  it('skips open breakers: the least recently used closed one goes', async () => {
    const { shards, retired } = family({ maxKeys: 3 });
    await trip(shards, 'a');
    shards.get('b');
    shards.get('c');
    shards.get('d');
    expect(retired.map((e) => e.key)).toEqual(['b']);
    expect(shards.get('a').state).toBe('open');
  });

  it('when every breaker is open, new keys share one overflow breaker, with one warning', async () => {
    const { shards, warnings, clock } = family({ maxKeys: 2 });
    await trip(shards, 'a');
    await trip(shards, 'b');
    const first = shards.get('c');
    expect(first.name).toBe('shards:_overflow');
    expect(shards.get('d')).toBe(first);
    await expect(shards.execute('e', async () => 'through overflow')).resolves.toBe('through overflow');
    expect(shards.size).toBe(2);
    expect(shards.summary().overflow).toBe('closed');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('all 2 keys (maxKeys) have a breaker that is not closed, so new keys share the breaker "shards:_overflow"');
    // Once a key's breaker closes, a new key gets its own breaker again (the LRU closed one goes).
    clock.advance(5_000);
    await shards.execute('a', async () => 'trial');
    expect(shards.get('a').state).toBe('closed');
    expect(shards.get('f').name).toBe('shards:f');
    expect(shards.has('a')).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(shards.find('_overflow')).toBe(first);
  });

  it('a lower maxKeys retires the least recently used closed breakers at once, never an open one', async () => {
    const { shards, retired, clock } = family({ maxKeys: 2_000 });
    for (let i = 0; i < 1_000; i++) shards.get(`k${i}`);
    await trip(shards, 'k0'); // the oldest, but open: it protects, so it stays
    shards.reconfigure({ maxKeys: 10 });
    expect(shards.size).toBe(10);
    expect(shards.maxKeys).toBe(10);
    expect(retired).toHaveLength(990);
    expect(new Set(retired.map((e) => e.reason))).toEqual(new Set(['evicted']));
    expect(shards.keys().sort()).toEqual(['k0', ...Array.from({ length: 9 }, (_, i) => `k${991 + i}`)].sort());
    // Lowered below the open keys: they stay while they protect, and make room as they close.
    await trip(shards, 'k999');
    shards.reconfigure({ maxKeys: 1 });
    expect(shards.keys().sort()).toEqual(['k0', 'k999']);
    clock.advance(5_000);
    await shards.execute('k0', async () => 'trial');
    expect(shards.get('k0').state).toBe('closed');
    // A new key retires k0 (closed now) and, with k999 still open at the limit of 1, shares the overflow breaker.
    expect(shards.get('new').name).toBe('shards:_overflow');
    expect(shards.keys()).toEqual(['k999']);
  });

  it('holds at maxKeys over many distinct keys', async () => {
    const { shards, retired } = family({ maxKeys: 50 });
    for (let i = 0; i < 5_000; i++) await shards.execute(`k${i}`, async () => i);
    expect(shards.size).toBe(50);
    expect(retired).toHaveLength(4_950);
    // The 50 most recent keys are the ones kept.
    expect(shards.keys().sort()).toEqual(Array.from({ length: 50 }, (_, i) => `k${4_950 + i}`).sort());
  });
});

describe('a fleet store', () => {
  it('shares each key like a named breaker, under its family:key name', async () => {
    const store = new InMemoryCircuitBreakerStore();
    const here = new CircuitBreakerFamily({ name: 'hosts', store, consecutiveFailureThreshold: 1, openDurationMs: 60_000 });
    const there = new CircuitBreakerFamily({ name: 'hosts', store, consecutiveFailureThreshold: 1, openDurationMs: 60_000 });
    there.get('a.example');
    there.get('b.example');
    await new Promise((resolve) => setImmediate(resolve));
    await trip(here, 'a.example');
    // The store answers and notifies peers on later turns of the event loop.
    for (let i = 0; i < 20 && there.get('a.example').state !== 'open'; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(store.peek('hosts:a.example')?.state).toBe('open');
    expect(there.get('a.example').state).toBe('open');
    expect(there.get('b.example').state).toBe('closed');
    await expect(there.execute('a.example', async () => 1)).rejects.toBeInstanceOf(CircuitOpenError);
    here.dispose();
    there.dispose();
  });
});
