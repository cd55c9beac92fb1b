/**
 * What every consumer app must do, checked over real HTTP. The app runs README Usage as it is
 * (PAYMENTS_URL) and an @nestjs/axios client without return types (QUOTES_URL), both pointed at
 * the dependency below: a real local HTTP server this process switches between answering and
 * failing (HTTP 500), and which counts the requests that reach it. The cases run in order against
 * one running app and rely on the state the previous ones left (each breaker trips once per run).
 *
 * Adding a case: a route in shared/src (every app gets it) and an entry in CASES. A case receives
 * `app`: `get`/`post` answering `{ status, headers, body }`, `dependency` (below), `breaker(name)`
 * (its entry in /health) and `traits` (`terminusMajor`: Terminus 12 reports an open breaker
 * `degraded`, Terminus 11 has no such status).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';

const ORDER = '42';
const UNCACHED_ORDER = '7';
const priceOf = (id) => id.length * 10 + 0.5;
const SYMBOL = 'ACME';
const QUOTE = 101.5;
const DEFAULT_OPEN_DURATION_MS = 30_000; // the breakers' default openDurationMs (Usage and quotes.ts set none)

/**
 * The app's dependency: `GET /prices/:id`, `POST /charges/:id` (payments, README Usage's
 * PaymentsApi) and `GET /quotes/:id` (quotes, the HttpService client). Each service answers or
 * fails (500) as `set()` says, and counts the requests that reach it.
 */
export async function startDependency() {
  const modes = { payments: 'ok', quotes: 'ok' };
  const calls = { payments: 0, quotes: 0 };
  const server = createServer((req, res) => {
    const [, resource, id] = (req.url ?? '').split('/');
    const service = resource === 'quotes' ? 'quotes' : 'payments';
    calls[service]++;
    const answer = (status, body) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (modes[service] === 'fail') return answer(500, { error: `${service} unavailable` });
    if (resource === 'prices' && req.method === 'GET') return answer(200, { price: priceOf(id) });
    if (resource === 'charges' && req.method === 'POST') return answer(201, { orderId: id, charged: true });
    if (resource === 'quotes' && req.method === 'GET') return answer(200, { id, price: QUOTE });
    return answer(404, { error: `no ${req.method} ${req.url}` });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    set(service, mode) {
      modes[service] = mode;
    },
    calls: (service) => calls[service],
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function assertOpenAnswer(res, breaker) {
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.match(String(res.headers.get('retry-after')), /^\d+$/);
  const retryAfterS = Number(res.headers.get('retry-after'));
  assert.ok(retryAfterS >= 1 && retryAfterS <= DEFAULT_OPEN_DURATION_MS / 1_000, `Retry-After ${retryAfterS}`);
  assert.equal(res.body.statusCode, 503);
  assert.equal(res.body.error, 'Service Unavailable');
  assert.equal(res.body.breaker, breaker);
  assert.ok(res.body.retryAfterMs > 0 && res.body.retryAfterMs <= DEFAULT_OPEN_DURATION_MS, `retryAfterMs ${res.body.retryAfterMs}`);
}

export const CASES = [
  {
    name: 'GET /health is up while the breakers are closed',
    async run(app) {
      const res = await app.get('/health');
      assert.equal(res.status, 200);
      assert.equal(res.body.status, 'ok');
      assert.equal(res.body.details.circuit_breakers.status, 'up');
      for (const name of ['payments', 'quotes']) assert.deepEqual(pick(res.body.details.circuit_breakers.breakers[name], 'status', 'state'), { status: 'up', state: 'closed' });
    },
  },
  {
    name: 'Usage: the undecorated route over the decorated provider returns the live price while payments answers',
    async run(app) {
      const before = app.dependency.calls('payments');
      const res = await app.get(`/orders/${ORDER}/price`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { id: ORDER, price: priceOf(ORDER) });
      assert.equal(app.dependency.calls('payments'), before + 1);
    },
  },
  {
    name: 'Usage: the decorated route passes its result through while the breaker is closed',
    async run(app) {
      const res = await app.post(`/orders/${ORDER}/pay`);
      assert.equal(res.status, 201);
      assert.deepEqual(res.body, { orderId: ORDER, charged: true });
    },
  },
  {
    name: 'Usage: while payments fails, the fallback serves the cached price (payments is still called, the failure counted)',
    async run(app) {
      app.dependency.set('payments', 'fail');
      const before = app.dependency.calls('payments');
      const res = await app.get(`/orders/${ORDER}/price`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { id: ORDER, price: priceOf(ORDER) });
      assert.equal(app.dependency.calls('payments'), before + 1);
      assert.ok((await app.breaker('payments')).failureRate > 0);
    },
  },
  {
    name: 'Usage: failures open the breaker; then the fallback answers without calling payments',
    async run(app) {
      for (let calls = 0; (await app.breaker('payments')).state !== 'open'; calls++) {
        assert.ok(calls < 20, `the breaker did not open after ${calls} failing calls`);
        const res = await app.get(`/orders/${ORDER}/price`);
        assert.deepEqual({ status: res.status, body: res.body }, { status: 200, body: { id: ORDER, price: priceOf(ORDER) } });
      }
      const before = app.dependency.calls('payments');
      const res = await app.get(`/orders/${ORDER}/price`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { id: ORDER, price: priceOf(ORDER) });
      assert.equal(app.dependency.calls('payments'), before, 'an open breaker must not call payments');
    },
  },
  {
    name: 'Usage: the undecorated route answers 503 with Retry-After while open and nothing is cached',
    async run(app) {
      const before = app.dependency.calls('payments');
      assertOpenAnswer(await app.get(`/orders/${UNCACHED_ORDER}/price`), 'payments');
      assert.equal(app.dependency.calls('payments'), before);
    },
  },
  {
    name: 'Usage: the decorated route answers 503 with Retry-After while open',
    async run(app) {
      const before = app.dependency.calls('payments');
      assertOpenAnswer(await app.post(`/orders/${ORDER}/pay`), 'payments');
      assert.equal(app.dependency.calls('payments'), before);
    },
  },
  {
    name: 'Usage: GET /health answers 200 with the open breaker (degraded on Terminus 12, up on Terminus 11)',
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
  {
    name: 'HttpService without return types: the live quote while quotes answers',
    async run(app) {
      const before = app.dependency.calls('quotes');
      const res = await app.get(`/quotes/${SYMBOL}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { id: SYMBOL, price: QUOTE });
      assert.equal(app.dependency.calls('quotes'), before + 1);
    },
  },
  {
    name: 'HttpService without return types: while quotes fails, its errors are counted and the fallback value served',
    async run(app) {
      app.dependency.set('quotes', 'fail');
      const before = app.dependency.calls('quotes');
      const res = await app.get(`/quotes/${SYMBOL}`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { id: SYMBOL, price: null, stale: true });
      assert.equal(app.dependency.calls('quotes'), before + 1);
      const quotes = await app.breaker('quotes');
      assert.deepEqual(pick(quotes, 'state', 'calls', 'failureRate'), { state: 'closed', calls: 2, failureRate: 50 });
    },
  },
  {
    name: 'HttpService without return types: failures open the breaker; then the fallback answers without calling quotes',
    async run(app) {
      for (let calls = 0; (await app.breaker('quotes')).state !== 'open'; calls++) {
        assert.ok(calls < 10, `the quotes breaker did not open after ${calls} failing calls`);
        const res = await app.get(`/quotes/${SYMBOL}`);
        assert.deepEqual({ status: res.status, body: res.body }, { status: 200, body: { id: SYMBOL, price: null, stale: true } });
      }
      const before = app.dependency.calls('quotes');
      const res = await app.get(`/quotes/${SYMBOL}`);
      assert.deepEqual({ status: res.status, body: res.body }, { status: 200, body: { id: SYMBOL, price: null, stale: true } });
      assert.equal(app.dependency.calls('quotes'), before, 'an open breaker must not call quotes');
    },
  },
  {
    name: 'HttpService without return types: the method without a fallback answers 503 with Retry-After while open',
    async run(app) {
      const before = app.dependency.calls('quotes');
      assertOpenAnswer(await app.get(`/quotes/${SYMBOL}/live`), 'quotes');
      assert.equal(app.dependency.calls('quotes'), before);
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

/**
 * Runs every case in order against the app at `baseUrl`, whose dependency is `dependency` (from
 * startDependency); answers one result per case (stops at the first failure).
 */
export async function drive(baseUrl, traits, dependency) {
  const app = {
    traits,
    dependency,
    get: (path) => request(baseUrl, 'GET', path),
    post: (path, body) => request(baseUrl, 'POST', path, body),
    async breaker(name) {
      return (await app.get('/health')).body.details.circuit_breakers.breakers[name];
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
