/**
 * instrumentOpenTelemetry(breakers) for engine users, against the real OpenTelemetry SDK (in-memory
 * metric exporter and span exporter, AsyncLocalStorage context manager). Time comes from a
 * ManualClock; the SDK collects only when asked.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { SpanStatusCode, createNoopMeter } from '@opentelemetry/api';
import type { MeterProvider } from '@opentelemetry/api';
import { CircuitBreaker, InMemoryCircuitBreakerStore, ManualClock } from '../../lib/index.js';
import type { CircuitBreakerSettings } from '../../lib/index.js';
import { METER_NAME, instrumentOpenTelemetry } from '../../lib/opentelemetry/index.js';
import type { OpenTelemetryInstrumentation } from '../../lib/opentelemetry/index.js';
import { PACKAGE_VERSION } from '../../lib/opentelemetry/package-version.js';
import { OtelSdk, eventsOf } from './otel-sdk.js';

const hang = (): Promise<never> => new Promise<never>(() => undefined);
const fail = (): Promise<never> => Promise.reject(new Error('dependency down'));
const succeed = async (): Promise<string> => 'ok';

describe('instrumentOpenTelemetry on engine breakers, with the OpenTelemetry SDK registered', () => {
  let sdk: OtelSdk;
  let clock: ManualClock;
  const handles: OpenTelemetryInstrumentation[] = [];
  const breaker = (name: string, settings: CircuitBreakerSettings = {}): CircuitBreaker =>
    new CircuitBreaker({ name, clock, consecutiveFailureThreshold: 2, minimumCalls: 100, openDurationMs: 10_000, ...settings });
  const instrument = (...args: Parameters<typeof instrumentOpenTelemetry>): OpenTelemetryInstrumentation => {
    const handle = instrumentOpenTelemetry(...args);
    handles.push(handle);
    return handle;
  };

  beforeEach(() => {
    sdk = new OtelSdk().register();
    clock = new ManualClock(1_000_000);
  });
  afterEach(async () => {
    for (const handle of handles.splice(0)) handle.detach();
    await sdk.shutdown();
  });

  describe('metrics', () => {
    it('come from the meter "nestjs-breaker" at the package version, with the instruments and units documented', async () => {
      const payments = breaker('payments');
      expect(instrument([payments])).toMatchObject({ metrics: true, traces: true });
      await payments.execute(succeed);

      const scope = (await sdk.collect()).scope(METER_NAME);
      expect(scope.version).toBe(PACKAGE_VERSION);
      const described = Object.fromEntries(scope.metrics.map((m) => [m.descriptor.name, m.descriptor.unit]));
      // no transition yet, no timed call, no store: those instruments have no point to export
      expect(described).toEqual({
        'circuitbreaker.calls': '{call}',
        'circuitbreaker.state': '',
        'circuitbreaker.failure_rate': '%',
        'circuitbreaker.slow_call_rate': '%',
      });
    });

    it('count calls by outcome, report the state, the transitions with their reason, and the rates', async () => {
      const payments = breaker('payments', { isFailure: (error) => !(error instanceof TypeError) });
      instrument([payments]);
      await payments.execute(succeed);
      await payments.execute(succeed);
      await payments.execute(() => Promise.reject(new TypeError('bad input'))).catch(() => undefined); // ignored
      await payments.execute(fail).catch(() => undefined);
      await payments.execute(fail).catch(() => undefined); // trips: 2 failures in a row
      await payments.execute(succeed).catch(() => undefined); // not permitted
      await payments.execute(succeed).catch(() => undefined);

      const c = await sdk.collect();
      const calls = (outcome: string) => c.value('circuitbreaker.calls', { 'circuitbreaker.name': 'payments', 'circuitbreaker.outcome': outcome });
      expect({ success: calls('success'), failure: calls('failure'), ignored: calls('ignored'), not_permitted: calls('not_permitted'), timeout: calls('timeout') }).toEqual({
        success: 2,
        failure: 2,
        ignored: 1,
        not_permitted: 2,
        timeout: 0,
      });
      const states = Object.fromEntries(
        c.points('circuitbreaker.state').map((p) => [p.attributes['circuitbreaker.state'], p.value]),
      );
      expect(states).toEqual({ closed: 0, open: 1, half_open: 0, forced_open: 0, disabled: 0, metrics_only: 0 });
      expect(c.points('circuitbreaker.transitions')).toEqual([
        {
          attributes: {
            'circuitbreaker.name': 'payments',
            'circuitbreaker.transition.from': 'closed',
            'circuitbreaker.transition.to': 'open',
            'circuitbreaker.transition.reason': 'consecutive_failures',
          },
          value: 1,
        },
      ]);
      expect(c.value('circuitbreaker.failure_rate', { 'circuitbreaker.name': 'payments' })).toBe(50); // 2 of 4 counted calls
      expect(c.value('circuitbreaker.slow_call_rate', { 'circuitbreaker.name': 'payments' })).toBe(0);
    });

    it('follow the breaker through half_open back to closed', async () => {
      const payments = breaker('payments');
      instrument([payments]);
      await payments.execute(fail).catch(() => undefined);
      await payments.execute(fail).catch(() => undefined);
      clock.advance(10_000);
      await payments.execute(succeed);

      const c = await sdk.collect();
      const transitions = c.points('circuitbreaker.transitions').map((p) => `${p.attributes['circuitbreaker.transition.from']} -> ${p.attributes['circuitbreaker.transition.to']} (${p.attributes['circuitbreaker.transition.reason']}): ${p.value}`);
      expect(transitions.sort()).toEqual([
        'closed -> open (consecutive_failures): 1',
        'half_open -> closed (trials_succeeded): 1',
        'open -> half_open (open_duration_elapsed): 1',
      ]);
      expect(c.value('circuitbreaker.state', { 'circuitbreaker.name': 'payments', 'circuitbreaker.state': 'closed' })).toBe(1);
    });

    it('record call durations in seconds, by outcome, for breakers that time their calls', async () => {
      const timed = breaker('timed', { timeoutMs: 1_000 });
      const plain = breaker('plain');
      instrument([timed, plain]);

      let finish!: (value: string) => void;
      const slowSuccess = timed.execute(() => new Promise<string>((resolve) => (finish = resolve)));
      clock.advance(250);
      finish('ok');
      await slowSuccess;
      const timedOut = timed.execute(hang).catch(() => undefined);
      clock.advance(1_000);
      await timedOut;
      await plain.execute(succeed);

      const c = await sdk.collect();
      const success = c.histogram('circuitbreaker.call.duration', { 'circuitbreaker.name': 'timed', 'circuitbreaker.outcome': 'success' });
      expect({ count: success.count, sum: success.sum }).toEqual({ count: 1, sum: 0.25 });
      expect(success.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
      expect(success.counts[6]).toBe(1); // 0.25 s falls in the (0.1, 0.25] bucket
      const timeout = c.histogram('circuitbreaker.call.duration', { 'circuitbreaker.name': 'timed', 'circuitbreaker.outcome': 'timeout' });
      expect({ count: timeout.count, sum: timeout.sum }).toEqual({ count: 1, sum: 1 });
      expect(c.metric('circuitbreaker.call.duration')?.descriptor.unit).toBe('s');
      expect(c.points('circuitbreaker.call.duration').map((p) => p.attributes['circuitbreaker.name'])).not.toContain('plain'); // no duration known
      expect(c.value('circuitbreaker.calls', { 'circuitbreaker.name': 'timed', 'circuitbreaker.outcome': 'timeout' })).toBe(1);
    });

    it('report store.shared and store.fallbacks for breakers with a store only, through an outage', async () => {
      class SwitchableStore extends InMemoryCircuitBreakerStore {
        down = false;
        override ping(): Promise<void> {
          return this.down ? Promise.reject(new Error('ECONNREFUSED')) : super.ping();
        }
        override sync(...args: Parameters<InMemoryCircuitBreakerStore['sync']>) {
          return this.down ? Promise.reject(new Error('ECONNREFUSED')) : super.sync(...args);
        }
      }
      const store = new SwitchableStore({ clock, syncIntervalMs: 100, commandTimeoutMs: 50, logger: { warn: () => undefined, log: () => undefined } });
      const shared = breaker('shared', { store });
      const local = breaker('local');
      instrument([shared, local]);
      const pass = async (ms: number) => {
        for (let left = ms; left > 0; left -= 10) {
          clock.advance(10);
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      };
      await pass(100);
      let c = await sdk.collect();
      expect(c.points('circuitbreaker.store.shared')).toEqual([{ attributes: { 'circuitbreaker.name': 'shared' }, value: 1 }]);
      expect(c.points('circuitbreaker.store.fallbacks')).toEqual([{ attributes: { 'circuitbreaker.name': 'shared' }, value: 0 }]);

      store.down = true;
      await shared.execute(succeed);
      await pass(200);
      c = await sdk.collect();
      expect(c.value('circuitbreaker.store.shared', { 'circuitbreaker.name': 'shared' })).toBe(0);
      expect(c.value('circuitbreaker.store.fallbacks', { 'circuitbreaker.name': 'shared' })).toBe(1);
      shared.dispose();
    });
  });

  describe('traces', () => {
    it('a call under an active span puts the breaker’s name and state on it', async () => {
      const payments = breaker('payments');
      instrument([payments]);
      await sdk.inSpan('checkout', () => payments.execute(succeed));
      expect(sdk.span('checkout').attributes).toEqual({ 'circuitbreaker.name': 'payments', 'circuitbreaker.state': 'closed' });
      expect(sdk.span('checkout').events).toEqual([]);
    });

    it('the call that trips the circuit gets the transition as a span event; a refused call gets circuitbreaker.rejected with retry_after_ms', async () => {
      const payments = breaker('payments');
      instrument([payments]);
      await sdk.inSpan('first', () => payments.execute(fail)).catch(() => undefined);
      await sdk.inSpan('tripping', () => payments.execute(fail)).catch(() => undefined);
      clock.advance(4_000);
      const error = await sdk.inSpan('refused', () => payments.execute(succeed)).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'CircuitOpenError', retryAfterMs: 6_000 });

      expect(eventsOf(sdk.span('first'))).toEqual([]);
      expect(eventsOf(sdk.span('tripping'))).toEqual([
        {
          name: 'circuitbreaker.transition',
          attributes: {
            'circuitbreaker.name': 'payments',
            'circuitbreaker.transition.from': 'closed',
            'circuitbreaker.transition.to': 'open',
            'circuitbreaker.transition.reason': 'consecutive_failures',
          },
        },
      ]);
      expect(sdk.span('tripping').attributes).toEqual({ 'circuitbreaker.name': 'payments', 'circuitbreaker.state': 'closed' }); // admitted while closed
      const refused = sdk.span('refused');
      expect(refused.attributes).toEqual({ 'circuitbreaker.name': 'payments', 'circuitbreaker.state': 'open' });
      expect(eventsOf(refused)).toEqual([
        { name: 'circuitbreaker.rejected', attributes: { 'circuitbreaker.name': 'payments', 'circuitbreaker.state': 'open', 'circuitbreaker.retry_after_ms': 6_000 } },
      ]);
      // Engine users decide themselves whether a refusal fails their operation (a fallback of their own)
      expect(refused.status.code).toBe(SpanStatusCode.UNSET);
    });

    it('forced_open refusals carry no retry_after_ms (nothing will admit a call by itself)', async () => {
      const payments = breaker('payments');
      instrument([payments]);
      payments.forceOpen();
      await sdk.inSpan('refused', () => payments.execute(succeed)).catch(() => undefined);
      expect(eventsOf(sdk.span('refused'))).toEqual([
        { name: 'circuitbreaker.rejected', attributes: { 'circuitbreaker.name': 'payments', 'circuitbreaker.state': 'forced_open' } },
      ]);
    });

    it('a timeout is an event on the timed-out call’s own span, even when another call’s span armed the deadline timer', async () => {
      const payments = breaker('payments', { timeoutMs: 1_000, consecutiveFailureThreshold: 5 });
      instrument([payments]);
      const first = sdk.inSpan('first', () => payments.execute(hang)).catch(() => undefined);
      clock.advance(500);
      const second = sdk.inSpan('second', () => payments.execute(hang)).catch(() => undefined);
      clock.advance(1_000);
      await Promise.all([first, second]);
      const timeout = { name: 'circuitbreaker.timeout', attributes: { 'circuitbreaker.name': 'payments', 'circuitbreaker.timeout_ms': 1_000 } };
      expect(eventsOf(sdk.span('first'))).toEqual([timeout]);
      expect(eventsOf(sdk.span('second'))).toEqual([timeout]);
    });

    it('the trial that opens the circuit again gets open -> half_open and half_open -> open', async () => {
      const payments = breaker('payments');
      instrument([payments]);
      await payments.execute(fail).catch(() => undefined);
      await payments.execute(fail).catch(() => undefined);
      clock.advance(10_000);
      await sdk.inSpan('trial', () => payments.execute(fail)).catch(() => undefined);
      expect(eventsOf(sdk.span('trial')).map((e) => `${e.attributes['circuitbreaker.transition.from']} -> ${e.attributes['circuitbreaker.transition.to']} (${e.attributes['circuitbreaker.transition.reason']})`)).toEqual([
        'open -> half_open (open_duration_elapsed)',
        'half_open -> open (trial_failed)',
      ]);
    });

    it('a transition no call caused (a passing health check) goes on no span, not even the one that armed its timer', async () => {
      let healthy = false;
      const payments = breaker('payments', { healthCheck: { check: () => healthy, intervalMs: 1_000 } });
      instrument([payments]);
      const tripping = sdk.tracer.startSpan('long request still running');
      await sdk.inSpan('first', () => payments.execute(fail)).catch(() => undefined);
      const { context: api, trace } = await import('@opentelemetry/api');
      await api.with(trace.setSpan(api.active(), tripping), () => payments.execute(fail)).catch(() => undefined);
      healthy = true;
      // A real timer fires in the context that armed it: the tripping request's, whose span still records.
      api.with(trace.setSpan(api.active(), tripping), () => clock.advance(1_000));
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(payments.state).toBe('half_open');
      tripping.end();
      expect(eventsOf(sdk.span('long request still running')).map((e) => e.attributes['circuitbreaker.transition.reason'])).toEqual(['consecutive_failures']);
    });

    it('calls without an active span, or under an ended one, change nothing', async () => {
      const payments = breaker('payments');
      instrument([payments]);
      const ended = sdk.tracer.startSpan('ended');
      ended.end();
      const { context: api, trace } = await import('@opentelemetry/api');
      await api.with(trace.setSpan(api.active(), ended), () => payments.execute(succeed));
      await payments.execute(fail).catch(() => undefined);
      expect(sdk.span('ended').attributes).toEqual({});
    });
  });

  describe('what is attached', () => {
    it('nothing to any breaker while OpenTelemetry has no SDK (the no-op providers)', async () => {
      await sdk.shutdown(); // back to OpenTelemetry's no-op globals
      const payments = breaker('payments', { timeoutMs: 1_000 });
      const handle = instrument([payments]);
      expect(handle).toMatchObject({ metrics: false, traces: false });
      expect(payments.listening).toBe(false);
      expect(stateListenersOf(payments)).toBe(0);
      sdk = new OtelSdk(); // for afterEach
    });

    it('only what is asked: meterProvider false means no metrics, an explicit provider works without a global one', async () => {
      const own = new OtelSdk(); // not registered
      try {
        const payments = breaker('payments');
        const handle = instrument([payments], { meterProvider: own.meterProvider, tracerProvider: false });
        expect(handle).toMatchObject({ metrics: true, traces: false });
        await sdk.inSpan('checkout', () => payments.execute(succeed));
        expect(sdk.span('checkout').attributes).toEqual({});
        expect((await own.collect()).value('circuitbreaker.calls', { 'circuitbreaker.name': 'payments', 'circuitbreaker.outcome': 'success' })).toBe(1);
        expect((await sdk.collect()).names()).toEqual([]); // not the global one

        const other = breaker('other');
        expect(instrument([other], { meterProvider: false })).toMatchObject({ metrics: false, traces: true });
        expect(instrument([breaker('third')], { meterProvider: { getMeter: () => createNoopMeter() } as MeterProvider })).toMatchObject({ metrics: false });
      } finally {
        await own.shutdown();
      }
    });

    it('detach() removes every listener and stops observing those breakers; a second detach() is harmless', async () => {
      const payments = breaker('payments');
      const handle = instrument([payments]);
      const successes = async () => (await sdk.collect()).value('circuitbreaker.calls', { 'circuitbreaker.name': 'payments', 'circuitbreaker.outcome': 'success' });
      await payments.execute(succeed);
      expect(payments.listening).toBe(true);
      expect(await successes()).toBe(1);

      handle.detach();
      handle.detach();
      expect(payments.listening).toBe(false);
      expect(stateListenersOf(payments)).toBe(0);
      await payments.execute(succeed);
      await sdk.inSpan('after detach', () => payments.execute(succeed));
      // the SDK keeps exporting a cumulative point's last value; nobody observes it any more
      expect(await successes()).toBe(1);
      expect(sdk.span('after detach').attributes).toEqual({});
      expect(() => instrument([payments])).not.toThrow(); // free to instrument again
    });

    it('two instrumentations of different breakers report both; the same breaker twice is refused', async () => {
      const payments = breaker('payments');
      const inventory = breaker('inventory');
      instrument([payments]);
      instrument([inventory]);
      await payments.execute(succeed);
      await inventory.execute(succeed);
      const c = await sdk.collect();
      expect(c.points('circuitbreaker.calls').filter((p) => p.attributes['circuitbreaker.outcome'] === 'success').map((p) => p.attributes['circuitbreaker.name'])).toEqual(['payments', 'inventory']);
      expect(() => instrumentOpenTelemetry([inventory])).toThrow(
        'instrumentOpenTelemetry: circuit breaker "inventory" is already instrumented with OpenTelemetry: each transition would be counted twice.',
      );
      expect(() => instrumentOpenTelemetry([breaker('a'), payments].slice(1).concat(payments))).toThrow('circuit breaker "payments" is listed twice (elements 0 and 1)');
    });

    it('the breakers option picks breakers by name', async () => {
      const payments = breaker('payments');
      const inventory = breaker('inventory');
      instrument([payments, inventory], { breakers: ['inventory'] });
      expect(payments.listening).toBe(false);
      expect(inventory.listening).toBe(true);
      await inventory.execute(succeed);
      expect(new Set((await sdk.collect()).points('circuitbreaker.state').map((p) => p.attributes['circuitbreaker.name']))).toEqual(new Set(['inventory']));
    });

    it.each([
      [{ meterProvider: {} }, 'instrumentOpenTelemetry: option "meterProvider" must be an OpenTelemetry MeterProvider (with getMeter()) or false, got an object with keys []'],
      [{ tracerProvider: 'global' }, 'instrumentOpenTelemetry: option "tracerProvider" must be an OpenTelemetry TracerProvider (with getTracer()) or false, got "global"'],
      [{ breakers: 'payments' }, 'instrumentOpenTelemetry: option "breakers" must be an array of breaker names (non-empty strings), got "payments"'],
      [{ breakers: [''] }, 'instrumentOpenTelemetry: option "breakers" must be an array of breaker names (non-empty strings), got [""]'],
      [{ topKeys: -1 }, 'instrumentOpenTelemetry: option "topKeys" must be an integer >= 0, got -1'],
      [{ maxKeyValues: 0.5 }, 'instrumentOpenTelemetry: option "maxKeyValues" must be an integer >= 1, got 0.5'],
      [{ meter: 1 }, 'instrumentOpenTelemetry: unknown option "meter" (known options: meterProvider, tracerProvider, breakers, topKeys, maxKeyValues)'],
      [{ topkeys: 3 }, 'instrumentOpenTelemetry: unknown option "topkeys" (did you mean "topKeys"?) (known options: meterProvider, tracerProvider, breakers, topKeys, maxKeyValues)'],
      [null, 'instrumentOpenTelemetry: options must be an object, got null'],
    ])('refuses bad options %j with an error naming the option and what is allowed', (options, message) => {
      expect(() => instrumentOpenTelemetry([breaker('payments')], options as never)).toThrow(message);
    });

    it.each([
      [undefined, 'instrumentOpenTelemetry: expects a CircuitBreakerRegistry or an array (iterable) of CircuitBreaker, got undefined'],
      [{}, 'instrumentOpenTelemetry: expects a CircuitBreakerRegistry or an array (iterable) of CircuitBreaker, got an object that is neither'],
      [[{ name: 'payments' }], 'instrumentOpenTelemetry: element 0 is not a CircuitBreaker (got object)'],
    ])('refuses %j as what to instrument', (given, message) => {
      expect(() => instrumentOpenTelemetry(given as never)).toThrow(message);
    });
  });
});

/** How many state-change listeners a breaker has (engine internals, read for the no-SDK check). */
function stateListenersOf(breaker: CircuitBreaker): number {
  return (breaker as unknown as { stateListeners: { list: readonly unknown[] } }).stateListeners.list.length;
}

describe('the package version given to the meter', () => {
  it('is the package.json version', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PACKAGE_VERSION).toBe(pkg.version);
  });
});
