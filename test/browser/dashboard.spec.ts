/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core, against the built
 * sample app started as a child process (dist-sample/main.js, importing the package's dist/ by its
 * public name). The page loads cleanly, follows a trip of `payments` live, counts down to the next
 * trial, and its reset goes through the admin API's guard: refused without the key, done with it;
 * the sample's keyed family shows as one row with its open key.
 *
 * Needs Chromium at /usr/bin/chromium (CHROMIUM_PATH to change); .ci/run installs Debian's package.
 * Builds dist/ and dist-sample/ first when they are older than their sources.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { CircuitBreakerModule } from '../../lib/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';
import { SampleInstance, ensureSampleBuilt, waitFor } from '../fleet/fleet.js';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ADMIN_KEY = 'browser-test-admin-key';
/** The sample's payments breaker: minimumCalls 5 at 50 %, open for 10 s (sample-app/app.module.ts). */
const CALLS_TO_TRIP = 5;

// Functions passed to page.evaluate / waitForFunction run in the page; this file is type-checked
// without the DOM library, so the little they touch is declared here.
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  activeElement: { getAttribute(name: string): string | null } | null;
};
declare function getComputedStyle(element: unknown): { outlineStyle: string };

/** Flags for a headless Chromium on a closed network (without the last four it dials out, and is refused noisily). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('dashboard in Chromium, against the sample app', () => {
  let app: SampleInstance;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  /** Console errors, uncaught page errors, failed requests and HTTP errors, as they happen. */
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH.`);
    }
    const built = await ensureSampleBuilt();
    if (built.length > 0) console.log(`browser test: built ${built.join(' and ')} (missing, or older than their sources)`);
    app = await new SampleInstance('dashboard', { ADMIN_API_KEY: ADMIN_KEY }).ready();
    profile = mkdtempSync(join(tmpdir(), 'dashboard-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = watch(context.pages()[0] ?? (await context.newPage()));
  }, 120_000);

  /** Records what goes wrong on `target` into `problems`. */
  function watch(target: Page): Page {
    target.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    target.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    target.on('requestfailed', (request) => {
      // the event stream is aborted when the page goes away; anything else failing is a problem
      if (!request.url().endsWith('/events')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    target.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
    });
    return target;
  }

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await app?.stop();
  });

  const card = (name: string) => page.locator('article.breaker').filter({ has: page.getByRole('heading', { name, exact: true }) });
  const countdownSeconds = async (): Promise<number> => {
    const text = (await card('payments').locator('.countdown').textContent()) ?? '';
    const match = /next trial in (\d+) s/.exec(text);
    if (match === null) throw new Error(`no countdown in "${text}"`);
    return Number(match[1]);
  };

  it('loads with no console error and no failed request, live, with every breaker and its state as text', async () => {
    await page.goto(`${app.url}/circuit-breakers`);
    await page.getByText('Live', { exact: true }).waitFor();
    await expect(card('payments').locator('.state').textContent()).resolves.toBe('Closed');
    expect(await card('payments').getAttribute('data-state')).toBe('closed');
    expect(await page.locator('#instances').textContent()).toContain('(this instance)');
    expect(problems).toEqual([]);
  });

  it('turns the payments row to open within 2 s of a trip, without a reload, and counts down to the next trial', async () => {
    await app.http().post('/chaos/payments').send({ mode: 'fail' }).expect(201);
    for (let i = 0; i < CALLS_TO_TRIP; i++) await app.http().get(`/orders/browser-${i}/quote`);
    const tripped = Date.now();
    await page.waitForFunction(() => document.querySelector('article.breaker[data-state="open"] h3')?.textContent === 'payments', undefined, { timeout: 2_000 });
    console.log(`browser test: the payments row turned open ${Date.now() - tripped} ms after the trip`);

    expect(await card('payments').locator('.state').textContent()).toBe('Open');
    expect(await page.locator('#announcer').textContent()).toMatch(/payments.*Open/);
    expect(await card('payments').locator('.transitions li').first().textContent()).toMatch(/Closed \u2192 Open\s+\(failure_rate\)/);
    const first = await countdownSeconds();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(10);
    await waitFor(async () => ((await countdownSeconds()) < first ? true : undefined), () => `the countdown to go below ${first} s`, 3_000, 100);
    // the failure-rate chart has drawn the trip against its threshold
    await waitFor(async () => ((await card('payments').locator('path.line.failed').count()) > 0 ? true : undefined), () => 'a failure-rate line', 3_000, 100);
    expect(await card('payments').locator('.legend').first().textContent()).toMatch(/failure rate 100% \(trips at 50%\)/);
    expect(problems).toEqual([]);
  });

  it('without credentials, a reset is refused by the admin API’s guard, and the page says so', async () => {
    await page.getByRole('button', { name: 'Reset payments' }).click();
    const result = card('payments').locator('.result');
    let said: string | null = null;
    await waitFor(
      async () => {
        said = await result.textContent();
        return (await result.getAttribute('data-outcome')) === 'refused' ? true : undefined;
      },
      () => `a refusal; the page says "${said}"`,
      3_000,
      50,
    );
    expect(await result.textContent()).toBe('Refused (401 Unauthorized): A valid x-api-key header is required. Enter credentials above and try again.');
    expect(await card('payments').getAttribute('data-state')).toBe('open');
    expect(problems.splice(0)).toEqual([
      expect.stringMatching(/^HTTP 401: POST http:\/\/127\.0\.0\.1:\d+\/admin\/circuit-breakers\/payments\/reset$/),
      expect.stringMatching(/^console error: Failed to load resource: the server responded with a status of 401/),
    ]);
  });

  it('with the guard’s credentials, a reset from the keyboard closes the circuit, and the page follows', async () => {
    await page.getByLabel('Header x-api-key').fill(ADMIN_KEY);
    await page.getByLabel('Header x-api-key').focus();
    for (let i = 0; i < 20 && (await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) !== 'Reset payments'; i++) {
      await page.keyboard.press('Tab');
    }
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Reset payments');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid'); // focus is visible
    await page.keyboard.press('Enter');

    await page.waitForFunction(() => document.querySelector('article.breaker[data-state="closed"] h3')?.textContent === 'payments', undefined, { timeout: 2_000 });
    expect(await card('payments').locator('.result').textContent()).toBe('Reset: done, payments is now Closed');
    expect(await card('payments').locator('.transitions li').first().textContent()).toMatch(/Open \u2192 Closed\s+\(manual_reset\)/);
    expect(problems).toEqual([]);
  });

  it('shows the payment-hosts family as one row, live, with the failing host among its open keys and no card per host', async () => {
    // payments still fails (chaos mode "fail" above): the first host answers 500, the second quotes.
    for (let i = 0; i < 3; i++) await app.http().get(`/orders/browser-host-${i}/host-quote`).expect(200);
    const row = page.locator('#families tr[data-family="payment-hosts"]');
    await row.locator('.open-key').first().waitFor({ timeout: 2_000 });
    expect(await page.locator('#families-section').isHidden()).toBe(false);
    expect(await row.locator('.open-key').allTextContents()).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/)]);
    expect(await row.locator('td[data-state="open"]').textContent()).toBe('1');
    expect(await row.locator('td[data-state="closed"]').textContent()).toBe('1');
    expect(await page.locator('article.breaker h3', { hasText: 'payment-hosts:' }).count()).toBe(0);
    await app.http().post('/chaos/payments').send({ mode: 'ok' }).expect(201);
    expect(problems).toEqual([]);
  });

  it('readOnly: the same page without buttons or a credentials field, and no admin API needed', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ logger: false, breakers: { inventory: {} } }), CircuitBreakerDashboardModule.register({ path: 'ops/breakers', readOnly: true })],
    }).compile();
    // The browser keeps its connection to the page alive; without forceCloseConnections, close()
    // would wait for it (keepAliveTimeout) although every event stream has ended.
    const readOnly = moduleRef.createNestApplication({ logger: false, forceCloseConnections: true });
    await readOnly.listen(0, '127.0.0.1');
    const other = watch(await context.newPage());
    try {
      await other.goto(`${(await readOnly.getUrl()).replace('[::1]', '127.0.0.1')}/ops/breakers`);
      await other.getByText('Live', { exact: true }).waitFor();
      const inventory = other.locator('article.breaker').filter({ has: other.getByRole('heading', { name: 'inventory', exact: true }) });
      expect(await inventory.locator('.state').textContent()).toBe('Closed');
      expect(await other.getByRole('button').count()).toBe(0);
      expect(await other.locator('#credentials-section').isHidden()).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await other.close();
      await readOnly.close();
    }
  });
});
