// Regenerates docs/dashboard.png: starts the built sample app (dist-sample/main.js), sends it a
// minute of traffic through the payments breaker (healthy, then flaky, then failing until it trips),
// and photographs the dashboard in Debian's Chromium (driven by puppeteer-core, as the browser tests
// do). `npm run docs:screenshot` builds first.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'docs/dashboard.png');
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const key = 'screenshot-key';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const app = fork(join(root, 'dist-sample/main.js'), [], {
  cwd: root,
  env: { ...process.env, PORT: '0', ADMIN_API_KEY: key, NO_COLOR: '1' },
  stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
});
let log = '';
app.stdout.setEncoding('utf8').on('data', (chunk) => (log += chunk));
app.stderr.setEncoding('utf8').on('data', (chunk) => (log += chunk));
let browser;
try {
  let port;
  for (let i = 0; i < 300 && port === undefined; i++) {
    port = /Sample app listening on http:\/\/localhost:(\d+)/.exec(log)?.[1];
    if (port === undefined) await sleep(100);
  }
  if (port === undefined) throw new Error(`the sample app did not start:\n${log}`);
  const base = `http://127.0.0.1:${port}`;
  const chaos = (body) => fetch(`${base}/chaos/payments`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const traffic = async (seconds, perSecond) => {
    for (let s = 0; s < seconds * perSecond; s++) {
      void fetch(`${base}/orders/${s % 7}/quote`).then((r) => r.arrayBuffer()).catch(() => undefined);
      await sleep(1_000 / perSecond);
    }
  };

  browser = await puppeteer.launch({
    browser: 'chrome',
    executablePath,
    headless: true,
    defaultViewport: { width: 1100, height: 860, deviceScaleFactor: 1 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.goto(`${base}/circuit-breakers`);
  await chaos({ mode: 'ok' });
  await traffic(25, 12);
  await chaos({ mode: 'flaky', percent: 30 });
  await traffic(25, 12);
  await chaos({ mode: 'fail' });
  await traffic(3, 12);
  await page.waitForSelector('article.breaker[data-state="open"]');
  await sleep(2_500);
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser?.close();
  app.kill('SIGTERM');
}
