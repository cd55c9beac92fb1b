/**
 * The browsers the dashboard is tested in, as Debian packages them, and how each is launched
 * headless on a closed network: nothing it starts by itself may dial out (updates, telemetry,
 * safe browsing, captive-portal checks), both to keep the test offline and so that no refused
 * background request is mistaken for the page's own.
 */
import type { SupportedBrowser } from 'puppeteer-core';

export interface BrowserUnderTest {
  name: 'Chromium' | 'Firefox';
  /** puppeteer's name: `chrome` speaks the DevTools protocol, `firefox` WebDriver BiDi. */
  browser: SupportedBrowser;
  executablePath: string;
  installHint: string;
  args: string[];
  firefoxPrefs?: Record<string, unknown>;
  /**
   * The console line the browser adds by itself when a request is answered with an error status
   * (Chromium: "Failed to load resource"); the page's own handling of a refused action must add
   * nothing else.
   */
  reportsRefusedRequest: RegExp;
}

/** Flags for a headless Chromium on a closed network (without the last four it dials out, and is refused noisily). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Preferences for Firefox on a closed network, on top of puppeteer's own (which already point
 * updates, telemetry and remote settings at an unreachable host and turn safe browsing off).
 */
export const FIREFOX_PREFS: Record<string, unknown> = {
  'app.normandy.enabled': false,
  'app.shield.optoutstudies.enabled': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'browser.topsites.contile.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.server': '',
};

export const BROWSERS: BrowserUnderTest[] = [
  {
    name: 'Chromium',
    browser: 'chrome',
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    installHint: "install Debian's chromium package (apt-get install -y chromium, as .ci/ensure-chromium does) or set CHROMIUM_PATH.",
    args: CHROMIUM_ARGS,
    reportsRefusedRequest: /^console error: Failed to load resource: the server responded with a status of 401/,
  },
  {
    name: 'Firefox',
    browser: 'firefox',
    executablePath: process.env.FIREFOX_PATH || '/usr/bin/firefox-esr',
    installHint: "install Debian's firefox-esr package (apt-get install -y firefox-esr, as .ci/ensure-firefox does) or set FIREFOX_PATH.",
    args: [],
    firefoxPrefs: FIREFOX_PREFS,
    // Firefox reports nothing on the page's console for a request answered 401.
    reportsRefusedRequest: /$^/,
  },
];
