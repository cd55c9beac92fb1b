/**
 * What every consumer app must do, checked over real HTTP. The cases run in order against one
 * running app and may rely on the state the previous ones left (the breaker trips once per run).
 *
 * Adding a case: a route in shared/ (every app gets it) and an entry in CASES. A case receives
 * `app`: `get`/`post`/`put` answering `{ status, headers, body }`, a few shortcuts, and `traits`
 * (`terminusMajor`: Terminus 12 reports an open breaker `degraded`, Terminus 11 has no such status).
 */
import assert from 'node:assert/strict';

const ORDER = '42';
const PRICE = ORDER.length * 10 + 0.5; // shared/payments-api.ts
const DEFAULT_OPEN_DURATION_MS = 30_000; // the breaker's default openDurationMs (shared/app.module.ts sets none)

export const CASES = [
  {
    name: 'GET /health is up while the breaker is closed',
    async run(app) {
      const res = await app.get('/health');
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'ok');
      assert.equal(res.body.details.circuit_breakers.status, 'up');
      assert.deepEqual(pick(res.body.details.circuit_breakers.breakers.payments, 'status', 'state'), { status: 'up', state: 'closed' });
    },
  },
  {
    name: 'the decorated provider returns the live price while payments answers',
    async run(app) {
      const before = await app.paymentsCalls();
      const res = await app.get(`/orders/${ORDER}/price`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { orderId: ORDER, price: PRICE });
      assert.equal(await app.paymentsCalls(), before + 1);
    },
  },
  {
    name: 'the decorated route passes its result through while the breaker is closed',
    async run(app) {
      const res = await app.post(`/orders/${ORDER}/pay`);
      assert.equal(res.status, 201);
      assert.deepEqual(res.body, { orderId: ORDER, charged: true });
    },
  },
  {
    name: 'while payments fails, the fallback serves the cached price (payments is still called)',
    async run(app) {
      await app.setPayments('fail');
      const before = await app.paymentsCalls();
      const res = await app.get(`/orders/${ORDER}/price`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { orderId: ORDER, price: PRICE });
      assert.equal(await app.paymentsCalls(), before + 1);
    },
  },
  {
    name: 'failures open the breaker; then the fallback answers without calling payments',
    async run(app) {
      for (let calls = 0; (await app.breakerState()) !== 'open'; calls++) {
        assert.ok(calls < 20, `the breaker did not open after ${calls} failing calls`);
        const res = await app.get(`/orders/${ORDER}/price`);
        assert.deepEqual({ status: res.status, body: res.body }, { status: 200, body: { orderId: ORDER, price: PRICE } });
      }
      const before = await app.paymentsCalls();
      const res = await app.get(`/orders/${ORDER}/price`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { orderId: ORDER, price: PRICE });
      assert.equal(await app.paymentsCalls(), before, 'an open breaker must not call payments');
    },
  },
  {
    name: 'the decorated route answers 503 with Retry-After while the breaker is open',
    async run(app) {
      const before = await app.paymentsCalls();
      const res = await app.post(`/orders/${ORDER}/pay`);
      assert.equal(res.status, 503);
      assert.match(String(res.headers.get('retry-after')), /^\d+$/);
      const retryAfterS = Number(res.headers.get('retry-after'));
      assert.ok(retryAfterS >= 1 && retryAfterS <= DEFAULT_OPEN_DURATION_MS / 1_000, `Retry-After ${retryAfterS}`);
      assert.equal(res.body.statusCode, 503);
      assert.equal(res.body.error, 'Service Unavailable');
      assert.equal(res.body.breaker, 'payments');
      assert.ok(res.body.retryAfterMs > 0 && res.body.retryAfterMs <= DEFAULT_OPEN_DURATION_MS, `retryAfterMs ${res.body.retryAfterMs}`);
      assert.equal(await app.paymentsCalls(), before);
    },
  },
  {
    name: 'GET /health answers 200 with the open breaker (degraded on Terminus 12, up on Terminus 11)',
    async run(app) {
      const degraded = app.traits.terminusMajor >= 12;
      const res = await app.get('/health');
      assert.equal(res.status, 200);
      assert.equal(res.body.status, degraded ? 'degraded' : 'ok');
      assert.equal(res.body.details.circuit_breakers.status, degraded ? 'degraded' : 'up');
      assert.deepEqual(pick(res.body.details.circuit_breakers.breakers.payments, 'status', 'state'), { status: degraded ? 'degraded' : 'up', state: 'open' });
    },
  },
  {
    name: "GET /health/ready (openAs: 'down') answers 503 while the breaker is open",
    async run(app) {
      const res = await app.get('/health/ready');
      assert.equal(res.status, 503);
      assert.equal(res.body.status, 'error');
      assert.deepEqual(pick(res.body.details.circuit_breakers.breakers.payments, 'status', 'state'), { status: 'down', state: 'open' });
    },
  },
];

function pick(object, ...keys) {
  return Object.fromEntries(keys.map((key) => [key, object?.[key]]));
}

async function request(baseUrl, method, path, body) {
  const res = await fetch(baseUrl + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text for the assertion message
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** Runs every case in order against the app at `baseUrl`; answers one result per case (stops at the first failure). */
export async function drive(baseUrl, traits) {
  const app = {
    traits,
    get: (path) => request(baseUrl, 'GET', path),
    post: (path, body) => request(baseUrl, 'POST', path, body),
    put: (path, body) => request(baseUrl, 'PUT', path, body),
    async paymentsCalls() {
      return (await app.get('/test-controls/payments')).body.calls;
    },
    async setPayments(mode) {
      const res = await app.put('/test-controls/payments', { mode });
      assert.equal(res.status, 200, `PUT /test-controls/payments ${JSON.stringify(res.body)}`);
    },
    async breakerState() {
      return (await app.get('/health')).body.details.circuit_breakers.breakers.payments.state;
    },
  };
  const results = [];
  for (const { name, run } of CASES) {
    try {
      await run(app);
      results.push({ name, ok: true });
    } catch (error) {
      results.push({ name, ok: false, error });
      break;
    }
  }
  return results;
}
