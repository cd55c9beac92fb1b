// breakerFetch against real HTTP servers on loopback with the real global fetch: one breaker per
// host, the HTTP classification, Retry-After, no connection while open, and the breaker's
// AbortSignal reaching the socket.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { CircuitBreakerFamily, CircuitBreakerTimeoutError, CircuitOpenError, ManualClock } from '../../lib/index.js';
import { breakerFetch, httpBreakerSettings } from '../../lib/http/index.js';
import { LoopbackHost, until } from './loopback-hosts.js';

let hosts: LoopbackHost[] = [];
beforeEach(async () => {
  hosts = await Promise.all([LoopbackHost.start(), LoopbackHost.start(), LoopbackHost.start()]);
});
afterEach(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
});

const outcome = (promise: Promise<Response>): Promise<number | unknown> => promise.then((res) => res.status, (error: unknown) => error);

describe('breakerFetch', () => {
  it('one bad host of three opens only its own breaker, and its open circuit makes no connection', async () => {
    const [good1, bad, good2] = hosts as [LoopbackHost, LoopbackHost, LoopbackHost];
    const clock = new ManualClock();
    const fetchHost = breakerFetch({ clock, consecutiveFailureThreshold: 3, openDurationMs: 10_000 });
    bad.behaviour = { kind: 'status', status: 502 };
    for (let i = 0; i < 3; i++) {
      expect(await outcome(fetchHost(good1.url()))).toBe(200);
      expect(await outcome(fetchHost(bad.url()))).toBe(502); // a 5xx response is returned, and recorded as a failure
      expect(await outcome(fetchHost(good2.url()))).toBe(200);
    }
    expect(fetchHost.family.find(bad.hostKey)?.state).toBe('open');
    expect(fetchHost.family.summary().states).toMatchObject({ closed: 2, open: 1 });
    const connections = bad.connections;
    const requests = bad.requests;
    const refused = await outcome(fetchHost(bad.url('/charge')));
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(refused).toMatchObject({ breakerName: `http:${bad.hostKey}`, retryAfterMs: 10_000 });
    expect(bad.requests).toBe(requests);
    expect(bad.connections).toBe(connections);
    expect(await outcome(fetchHost(good2.url()))).toBe(200);
  });

  // A 4xx response is a call the host answered: fetch resolves it, and it counts as a success (axios
  // rejects it, and it is ignored: see the axios spec). Either way it never opens the circuit.
  it('counts 5xx, 429 and network errors as failures, never other 4xx', async () => {
    const [host] = hosts as [LoopbackHost];
    const fetchHost = breakerFetch({ clock: new ManualClock(), minimumCalls: 100, slidingWindow: { type: 'count', size: 100 } });
    const breaker = () => fetchHost.family.get(host.hostKey);
    for (const status of [404, 400, 409]) {
      host.behaviour = { kind: 'status', status };
      expect(await outcome(fetchHost(host.url()))).toBe(status);
    }
    expect(breaker().totals()).toMatchObject({ ignoredCalls: 0, successfulCalls: 3, failedCalls: 0 });
    for (const status of [500, 503, 429]) {
      host.behaviour = { kind: 'status', status };
      expect(await outcome(fetchHost(host.url()))).toBe(status);
    }
    expect(breaker().totals()).toMatchObject({ failedCalls: 3 });
    await host.stop();
    hosts = hosts.slice(1);
    const refusedConnection = await outcome(fetchHost(host.url()));
    // fetch failed: ECONNREFUSED (a TypeError of the fetch's own realm, hence the name)
    expect(refusedConnection).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(breaker().totals()).toMatchObject({ failedCalls: 4 });
  });

  it('honours Retry-After: a 503 asking for 120 s keeps the circuit open that long, past openDurationMs', async () => {
    const [host] = hosts as [LoopbackHost];
    const clock = new ManualClock();
    const fetchHost = breakerFetch({ clock, consecutiveFailureThreshold: 1, openDurationMs: 5_000 });
    host.behaviour = { kind: 'status', status: 503, headers: { 'retry-after': '120' } };
    expect(await outcome(fetchHost(host.url()))).toBe(503);
    expect(fetchHost.family.get(host.hostKey).snapshot().retryAfterMs).toBe(120_000);
    clock.advance(5_000);
    expect(await outcome(fetchHost(host.url()))).toBeInstanceOf(CircuitOpenError);
    host.behaviour = { kind: 'ok' };
    clock.advance(115_000);
    expect(await outcome(fetchHost(host.url()))).toBe(200);
    expect(fetchHost.family.get(host.hostKey).state).toBe('closed');
  });

  it('caps a Retry-After of a year (or a date in 2100) at maxRetryAfterMs: 5 minutes by default', async () => {
    const [host, other] = hosts as [LoopbackHost, LoopbackHost];
    const clock = new ManualClock();
    const fetchHost = breakerFetch({ clock, minimumCalls: 2, openDurationMs: 200 });
    host.behaviour = { kind: 'status', status: 503, headers: { 'retry-after': '31536000' } };
    other.behaviour = { kind: 'status', status: 503, headers: { 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' } };
    for (let i = 0; i < 2; i++) {
      expect(await outcome(fetchHost(host.url()))).toBe(503);
      expect(await outcome(fetchHost(other.url()))).toBe(503);
    }
    expect(fetchHost.family.get(host.hostKey).snapshot().retryAfterMs).toBe(300_000);
    expect(fetchHost.family.get(other.hostKey).snapshot().retryAfterMs).toBe(300_000);
    host.behaviour = { kind: 'ok' };
    clock.advance(300_000);
    expect(await outcome(fetchHost(host.url()))).toBe(200);
    expect(fetchHost.family.get(host.hostKey).state).toBe('closed');

    const capped = breakerFetch({ clock, minimumCalls: 2, openDurationMs: 200, maxRetryAfterMs: 60_000 });
    for (let i = 0; i < 2; i++) expect(await outcome(capped(other.url()))).toBe(503);
    expect(capped.family.get(other.hostKey).snapshot().retryAfterMs).toBe(60_000);
  });

  it("cancels a request that outlives timeoutMs through the breaker's AbortSignal: the server sees its connection closed", async () => {
    const [host] = hosts as [LoopbackHost];
    host.behaviour = { kind: 'hang' };
    const fetchHost = breakerFetch({ timeoutMs: 100 });
    const error = await outcome(fetchHost(host.url('/slow')));
    expect(error).toBeInstanceOf(CircuitBreakerTimeoutError);
    await until(() => host.abandoned === 1);
    expect(fetchHost.family.get(host.hostKey).totals().timeoutCalls).toBe(1);
  });

  it("a caller's own abort is not the host failing", async () => {
    const [host] = hosts as [LoopbackHost];
    host.behaviour = { kind: 'hang' };
    const fetchHost = breakerFetch({ timeoutMs: 5_000 });
    const controller = new AbortController();
    const pending = outcome(fetchHost(host.url(), { signal: controller.signal }));
    await until(() => host.requests === 1);
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await until(() => host.abandoned === 1);
    expect(fetchHost.family.get(host.hostKey).totals()).toMatchObject({ ignoredCalls: 1, failedCalls: 0 });
  });

  it('goes through a given family, e.g. one from registry.family()', async () => {
    const [host] = hosts as [LoopbackHost];
    const family = new CircuitBreakerFamily({ name: 'payment-hosts', ...httpBreakerSettings({ consecutiveFailureThreshold: 1 }) });
    const fetchHost = breakerFetch({ family });
    host.behaviour = { kind: 'status', status: 500 };
    await outcome(fetchHost(host.url()));
    expect(family.find(host.hostKey)?.state).toBe('open');
    family.dispose();
  });

  it('rejects a URL that does not parse, without a breaker', async () => {
    const fetchHost = breakerFetch();
    await expect(fetchHost('not a url')).rejects.toMatchObject({ name: 'TypeError', message: 'Invalid URL' });
    expect(fetchHost.family.size).toBe(0);
  });

  it('rejects a URL other than http: or https: as unsupported, without a breaker', async () => {
    const fetchHost = breakerFetch();
    await expect(fetchHost('file:///etc/hosts')).rejects.toMatchObject({
      name: 'TypeError',
      message: 'unsupported URL "file:///etc/hosts" (only http: and https: have a host to key a breaker by)',
    });
    await expect(fetchHost(new URL('data:text/plain,hi'))).rejects.toThrow(/unsupported URL "data:text\/plain,hi"/);
    expect(fetchHost.family.size).toBe(0);
  });
});
