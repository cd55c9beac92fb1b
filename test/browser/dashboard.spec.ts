/**
 * The dashboard in real browsers: Debian's Chromium (over the DevTools protocol) and Debian's
 * Firefox ESR (over WebDriver BiDi), both driven by puppeteer-core, against the built sample app
 * started as a child process (dist-sample/main.js, importing the package's dist/ by its public
 * name). The same checks run in each: the page loads cleanly, follows a trip of `payments` live,
 * counts down to the next trial, its reset goes through the admin API's guard (refused without the
 * key, done with it), every action is reachable by Tab and works with Enter and Space, it requests
 * nothing from elsewhere, it reconnects by itself when its stream ends, and the sample's keyed family
 * shows as one row with its open key.
 *
 * Needs Chromium at /usr/bin/chromium (CHROMIUM_PATH to change) and Firefox at /usr/bin/firefox-esr
 * (FIREFOX_PATH to change); .ci/run installs Debian's packages (.ci/ensure-chromium, .ci/ensure-firefox).
 * Builds dist/ and dist-sample/ first when they are older than their sources.
 */
import 'reflect-metadata';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import puppeteer from 'puppeteer-core';
import type { Browser, LaunchOptions, Page } from 'puppeteer-core';
import { CircuitBreakerModule, CircuitBreakerRegistry } from '../../lib/index.js';
import { CircuitBreakerDashboardModule } from '../../lib/dashboard/index.js';
import { SampleInstance, ensureSampleBuilt, waitFor } from '../fleet/fleet.js';
import { BROWSERS } from './browsers.js';
import type { BrowserUnderTest } from './browsers.js';

const ADMIN_KEY = 'browser-test-admin-key';
/** The sample's payments breaker: minimumCalls 5 at 50 %, open for 10 s (sample-app/app.module.ts). */
const CALLS_TO_TRIP = 5;

// Functions passed to page.evaluate / waitForFunction run in the page; this file is type-checked
// without the DOM library, so the little they touch is declared here.
interface PageElement {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  hidden: boolean;
  checkVisibility?(): boolean;
}
declare const document: PageElement & { activeElement: PageElement | null; getElementById(id: string): PageElement | null };
declare function getComputedStyle(element: unknown): { outlineStyle: string };

/** What `selector` in the card of breaker `name` says (null when there is no such card or element). */
function inCard(page: Page, name: string, selector: string, attribute?: string): Promise<string | null> {
  return page.evaluate(
    (n: string, s: string, a: string | null) => {
      const card = Array.from(document.querySelectorAll('article.breaker')).find((c) => c.querySelector('h3')?.textContent === n);
      const found = s === '' ? card : card?.querySelector(s);
      if (found === undefined || found === null) return null;
      return a === null ? found.textContent : found.getAttribute(a);
    },
    name,
    selector,
    attribute ?? null,
  );
}

const focusedLabel = (page: Page) => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? null);

/**
 * Moves the focus with the Tab key only, starting from the credentials field, until the control
 * labelled `label` has it: proves the control is in the page's tab order.
 */
async function tabTo(page: Page, label: string): Promise<void> {
  await page.focus('#credential');
  for (let i = 0; i < 30 && (await focusedLabel(page)) !== label; i++) await page.keyboard.press('Tab');
  expect(await focusedLabel(page)).toBe(label);
  // the focus is visible (the page's :focus-visible outline)
  expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
}

async function launch(target: BrowserUnderTest): Promise<Browser> {
  if (!existsSync(target.executablePath)) throw new Error(`${target.name} is not installed at ${target.executablePath}: ${target.installHint}`);
  const options: LaunchOptions = { browser: target.browser, executablePath: target.executablePath, headless: true, args: target.args };
  if (target.firefoxPrefs !== undefined) options.extraPrefsFirefox = target.firefoxPrefs;
  return puppeteer.launch(options);
}

describe.each(BROWSERS)('dashboard in $name, against the sample app', (target) => {
  let app: SampleInstance;
  let browser: Browser;
  let page: Page;
  /** Console errors and warnings, uncaught page errors, failed requests and HTTP errors, as they happen. */
  const problems: string[] = [];
  /** Every URL the pages asked for. */
  const requested: string[] = [];

  beforeAll(async () => {
    const built = await ensureSampleBuilt();
    if (built.length > 0) console.log(`browser test: built ${built.join(' and ')} (missing, or older than their sources)`);
    app = await new SampleInstance(`dashboard-${target.browser}`, { ADMIN_API_KEY: ADMIN_KEY }).ready();
    browser = await launch(target);
    // A tab of its own: Firefox gives the focus to a new tab, not to the blank one it starts with
    // (where document.hasFocus() stays false, so :focus and :focus-visible never match).
    page = watch(await browser.newPage());
  }, 120_000);

  /** Records what goes wrong on `tab` into `problems`. */
  function watch(tab: Page): Page {
    tab.on('console', (message) => {
      const at = message.location().url;
      if (message.type() === 'error' || message.type() === 'warn') problems.push(`console ${message.type()}: ${message.text()}${at ? ` (${at})` : ''}`);
    });
    tab.on('request', (request) => void requested.push(request.url()));
    tab.on('pageerror', (error) => problems.push(`page error: ${error instanceof Error ? error.message : String(error)}`));
    tab.on('requestfailed', (request) => {
      // the event stream is aborted when the page goes away; anything else failing is a problem
      if (!request.url().endsWith('/events')) problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    tab.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.request().method()} ${response.url()}`);
    });
    return tab;
  }

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  const countdownSeconds = async (): Promise<number> => {
    const text = (await inCard(page, 'payments', '.countdown')) ?? '';
    const match = /next trial in (\d+) s/.exec(text);
    if (match === null) throw new Error(`no countdown in "${text}"`);
    return Number(match[1]);
  };
  const waitForState = (name: string, state: string, timeout = 2_000) =>
    page.waitForFunction(
      (n: string, s: string) => document.querySelector(`article.breaker[data-state="${s}"][data-name="${n}"] h3`)?.textContent === n,
      { timeout, polling: 20 },
      name,
      state,
    );

  it('loads with no console error and no failed request, live, with every breaker and its state as text', async () => {
    await page.goto(`${app.url}/circuit-breakers`);
    await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'Live', { timeout: 5_000, polling: 20 });
    expect(await inCard(page, 'payments', '.state')).toBe('Closed');
    expect(await inCard(page, 'payments', '', 'data-state')).toBe('closed');
    expect(await page.$eval('#instances', (table) => table.textContent)).toContain('(this instance)');
    expect(problems).toEqual([]);
    // self-contained: the page and its event stream, nothing from elsewhere (data: URLs need no
    // network: the page's empty icon, and Firefox's own inline font)
    expect(new Set(requested.filter((url) => !url.startsWith('data:')))).toEqual(new Set([`${app.url}/circuit-breakers`, `${app.url}/circuit-breakers/events`]));
  });

  it('turns the payments row to open within 2 s of a trip, without a reload, and counts down to the next trial', async () => {
    await app.http().post('/chaos/payments').send({ mode: 'fail' }).expect(201);
    for (let i = 0; i < CALLS_TO_TRIP; i++) await app.http().get(`/orders/browser-${i}/quote`);
    const tripped = Date.now();
    await waitForState('payments', 'open');
    console.log(`browser test (${target.name}): the payments row turned open ${Date.now() - tripped} ms after the trip`);

    expect(await inCard(page, 'payments', '.state')).toBe('Open');
    expect(await page.$eval('#announcer', (announcer) => announcer.textContent)).toMatch(/payments.*Open/);
    expect(await inCard(page, 'payments', '.transitions li')).toMatch(/Closed \u2192 Open\s+\(failure_rate\)/);
    const first = await countdownSeconds();
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(10);
    await waitFor(async () => ((await countdownSeconds()) < first ? true : undefined), () => `the countdown to go below ${first} s`, 3_000, 100);
    // the failure-rate chart has drawn the trip against its threshold
    await waitFor(async () => ((await inCard(page, 'payments', 'path.line.failed', 'd')) !== null ? true : undefined), () => 'a failure-rate line', 3_000, 100);
    expect(await inCard(page, 'payments', '.legend')).toMatch(/failure rate 100% \(trips at 50%\)/);
    expect(problems).toEqual([]);
  });

  it('without credentials, a reset is refused by the admin API’s guard, and the page says so', async () => {
    await page.click('button[aria-label="Reset payments"]');
    let said: string | null = null;
    await waitFor(
      async () => {
        said = await inCard(page, 'payments', '.result');
        return (await inCard(page, 'payments', '.result', 'data-outcome')) === 'refused' ? true : undefined;
      },
      () => `a refusal; the page says "${said}"`,
      3_000,
      50,
    );
    expect(await inCard(page, 'payments', '.result')).toBe('Refused (401 Unauthorized): A valid x-api-key header is required. Enter credentials above and try again.');
    expect(await inCard(page, 'payments', '', 'data-state')).toBe('open');
    // The refusal itself, and (in Chromium) the browser's own console line about it: nothing else.
    const refused = /^HTTP 401: POST http:\/\/127\.0\.0\.1:\d+\/admin\/circuit-breakers\/payments\/reset$/;
    const reported = problems.splice(0);
    expect(reported.filter((problem) => refused.test(problem))).toHaveLength(1);
    expect(reported.filter((problem) => !refused.test(problem) && !target.reportsRefusedRequest.test(problem))).toEqual([]);
  });

  it('with the guard’s credentials, a reset by the Enter key closes the circuit, and the page follows', async () => {
    await page.type('#credential', ADMIN_KEY);
    await tabTo(page, 'Reset payments');
    await page.keyboard.press('Enter');

    await waitForState('payments', 'closed');
    expect(await inCard(page, 'payments', '.state')).toBe('Closed');
    await waitFor(async () => ((await inCard(page, 'payments', '.result', 'data-outcome')) === 'ok' ? true : undefined), () => 'the reset to be reported', 2_000, 20);
    expect(await inCard(page, 'payments', '.result')).toBe('Reset: done, payments is now Closed');
    expect(await inCard(page, 'payments', '.transitions li')).toMatch(/Open \u2192 Closed\s+\(manual_reset\)/);
    expect(problems).toEqual([]);
  });

  it('every action is reachable by Tab and works with the Space key: force open, disable, metrics only, reset', async () => {
    const steps: [action: string, state: string, text: string][] = [
      ['Force open', 'forced_open', 'Forced open'],
      ['Disable', 'disabled', 'Disabled'],
      ['Metrics only', 'metrics_only', 'Metrics only'],
      ['Reset', 'closed', 'Closed'],
    ];
    for (const [action, state, text] of steps) {
      await tabTo(page, `${action} payments`);
      await page.keyboard.press(' ');
      await waitForState('payments', state);
      expect(await inCard(page, 'payments', '.state')).toBe(text);
      let said: string | null = null;
      await waitFor(
        async () => ((said = await inCard(page, 'payments', '.result')) === `${action}: done, payments is now ${text}` ? true : undefined),
        () => `"${action}: done" under the buttons; the page says "${said}"`,
        2_000,
        20,
      );
    }
    expect(problems).toEqual([]);
  });

  it('shows the payment-hosts family as one row, live, with the failing host among its open keys and no card per host', async () => {
    if (page.url() !== `${app.url}/circuit-breakers`) await page.goto(`${app.url}/circuit-breakers`);
    // The first host answers 500, the second quotes.
    await app.http().post('/chaos/payments').send({ mode: 'fail' }).expect(201);
    for (let i = 0; i < 3; i++) await app.http().get(`/orders/browser-host-${i}/host-quote`).expect(200);
    await page.waitForSelector('#families tr[data-family="payment-hosts"] .open-key', { timeout: 2_000 });
    const shown = await page.evaluate(() => {
      const row = document.querySelector('#families tr[data-family="payment-hosts"]')!;
      return {
        sectionVisible: document.querySelector('#families-section')?.checkVisibility?.(),
        openKeys: Array.from(row.querySelectorAll('.open-key')).map((key) => key.textContent),
        open: row.querySelector('td[data-state="open"]')?.textContent,
        closed: row.querySelector('td[data-state="closed"]')?.textContent,
        hostCards: Array.from(document.querySelectorAll('article.breaker h3')).filter((title) => title.textContent?.startsWith('payment-hosts:')).length,
      };
    });
    expect(shown).toEqual({ sectionVisible: true, openKeys: [expect.stringMatching(/^127\.0\.0\.1:\d+$/)], open: '1', closed: '1', hostCards: 0 });
    await app.http().post('/chaos/payments').send({ mode: 'ok' }).expect(201);
    expect(problems).toEqual([]);
  });

  /** A read-only dashboard of its own, in this process, with the breakers named; port 0: any. */
  async function readOnlyApp(port: number, breakers: string[]): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot({ logger: false, breakers: Object.fromEntries(breakers.map((name) => [name, {}])) }),
        CircuitBreakerDashboardModule.register({ path: 'ops/breakers', readOnly: true }),
      ],
    }).compile();
    // The browser keeps its connection to the page alive; without forceCloseConnections, close()
    // would wait for it (keepAliveTimeout) although every event stream has ended.
    const readOnly = moduleRef.createNestApplication({ logger: false, forceCloseConnections: true });
    await readOnly.listen(port, '127.0.0.1');
    return readOnly;
  }
  const urlOf = async (nest: INestApplication) => `${(await nest.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1')}/ops/breakers`;
  const connectionOf = (tab: Page) => tab.$eval('#connection', (connection) => connection.getAttribute('data-status'));

  it('when the stream ends, reconnects by itself and shows the new snapshot in place of the old, without a reload', async () => {
    let server = await readOnlyApp(0, ['inventory', 'legacy']);
    const url = await urlOf(server);
    const other = watch(await browser.newPage());
    try {
      await other.goto(url);
      await other.waitForFunction(() => document.getElementById('connection')?.textContent === 'Live', { timeout: 5_000, polling: 20 });
      expect(await inCard(other, 'legacy', '.state')).toBe('Closed');
      await other.evaluate(() => void ((globalThis as { notReloaded?: boolean }).notReloaded = true));

      await server.close(); // ends every stream: the page is told and waits to reconnect
      await waitFor(async () => ((await connectionOf(other)) !== 'live' ? true : undefined), () => 'the page to notice the end of its stream', 5_000, 20);
      // the same address again, where the application now has different breakers in other states
      server = await readOnlyApp(Number(new URL(url).port), ['inventory', 'payments']);
      server.get(CircuitBreakerRegistry).get('inventory').forceOpen();

      // EventSource's reconnect delay is the stream's `retry: 2000`; or the page's own 5 s retry
      await other.waitForFunction(() => document.getElementById('connection')?.textContent === 'Live', { timeout: 10_000, polling: 50 });
      await waitFor(async () => ((await inCard(other, 'inventory', '.state')) === 'Forced open' ? true : undefined), () => 'inventory forced open', 3_000, 20);
      expect(await inCard(other, 'payments', '.state')).toBe('Closed');
      expect(await inCard(other, 'legacy', '.state')).toBeNull(); // gone with the old snapshot
      expect(await other.evaluate(() => (globalThis as { notReloaded?: boolean }).notReloaded)).toBe(true);
      // While the server was away, the browser may report its refused reconnects to the event
      // stream (Firefox logs them on the console, Chromium as failed requests): nothing else.
      expect(problems.splice(0).filter((problem) => !problem.includes('/ops/breakers/events'))).toEqual([]);
    } finally {
      await other.close();
      await server.close();
    }
  });

  it('readOnly: the same page without buttons or a credentials field, and no admin API needed', async () => {
    const readOnly = await readOnlyApp(0, ['inventory']);
    const other = watch(await browser.newPage());
    try {
      await other.goto(await urlOf(readOnly));
      await other.waitForFunction(() => document.getElementById('connection')?.textContent === 'Live', { timeout: 5_000, polling: 20 });
      expect(await inCard(other, 'inventory', '.state')).toBe('Closed');
      expect(await other.$$eval('button', (buttons) => buttons.length)).toBe(0);
      expect(await other.$eval('#credentials-section', (section) => (section as unknown as PageElement).hidden)).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await other.close();
      await readOnly.close();
    }
  });
});
