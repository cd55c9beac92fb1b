/**
 * The dashboard's HTML: one self-contained document (inline style and script, no font, no CDN), so
 * it works on a network without internet access. Its Content-Security-Policy allows exactly that
 * style and that script (by hash) and connections to its own origin, which also keeps it working
 * under an application-wide policy such as helmet's, which would block inline scripts.
 */
import { createHash } from 'node:crypto';
import { DASHBOARD_SCRIPT } from './dashboard-client.js';

/** What the page's script needs from the server, embedded as a JSON data block. */
export interface DashboardPageConfig {
  /** The event stream, relative to the page. */
  eventsUrl: string;
  /** The admin API, relative to the page (or an absolute path); null when read-only. */
  adminUrl: string | null;
  credentialsHeader: string;
  readOnly: boolean;
}

const STYLE = String.raw`
:root { color-scheme: light dark; --bg: #f5f6f8; --card: #fff; --text: #1a1a1a; --muted: #5b6067; --border: #cfd4da; --focus: #1a5fd0;
  --closed: #1b5e20; --open: #b71c1c; --half_open: #8a4b00; --forced_open: #5b0000; --disabled: #424242; --metrics_only: #0d47a1;
  --ok: #2e7d32; --failed: #c62828; --timeout: #d84315; --rejected: #6d4c41; --ignored: #757575; --slow: #6a1b9a; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --card: #1b1f24; --text: #e8eaed; --muted: #a4aab1; --border: #3a4048; --focus: #8ab4f8;
    --ok: #66bb6a; --failed: #ef5350; --timeout: #ff8a50; --rejected: #bcaaa4; --ignored: #9e9e9e; --slow: #ce93d8; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--text); }
header.page { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1.5rem; padding: .9rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--border); }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .5rem; }
main { padding: 0 1.5rem 2rem; max-width: 1200px; }
p { margin: 0; }
.muted { color: var(--muted); font-weight: normal; font-size: .85rem; }
.connection::before { content: "\25CF  "; }
.connection[data-status=live]::before { color: var(--ok); }
.connection[data-status=connecting]::before { color: var(--timeout); }
.connection[data-status=down]::before { color: var(--failed); }
.credentials { background: var(--card); border: 1px solid var(--border); border-radius: 6px; padding: .25rem 1rem .75rem; margin-top: 1rem; }
.credentials h2 { margin-top: .5rem; }
.credentials form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
input { font: inherit; padding: .3rem .5rem; border: 1px solid var(--border); border-radius: 4px; background: var(--bg); color: var(--text); min-width: 16rem; }
.hint { color: var(--muted); font-size: .85rem; margin-top: .35rem; }
.breaker { background: var(--card); border: 1px solid var(--border); border-left: 6px solid var(--border); border-radius: 6px; padding: .75rem 1rem; margin: 0 0 1rem; }
.breaker[data-state=closed] { border-left-color: var(--closed); }
.breaker[data-state=open] { border-left-color: var(--open); }
.breaker[data-state=half_open] { border-left-color: var(--half_open); }
.breaker[data-state=forced_open] { border-left-color: var(--forced_open); }
.breaker[data-state=disabled] { border-left-color: var(--disabled); }
.breaker[data-state=metrics_only] { border-left-color: var(--metrics_only); }
.breaker-head { display: flex; flex-wrap: wrap; align-items: center; gap: .4rem .75rem; }
.breaker-head h3 { margin: 0; font-size: 1.15rem; }
.state { display: inline-block; padding: .05rem .55rem; border-radius: 999px; color: #fff; font-weight: 600; font-size: .8rem; letter-spacing: .03em; text-transform: uppercase; }
.state-closed { background: var(--closed); } .state-open { background: var(--open); } .state-half_open { background: var(--half_open); }
.state-forced_open { background: var(--forced_open); } .state-disabled { background: var(--disabled); } .state-metrics_only { background: var(--metrics_only); }
.countdown { color: var(--muted); font-variant-numeric: tabular-nums; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: .35rem 1rem; margin: .75rem 0; }
.facts div { display: flex; flex-direction: column; }
dt { font-size: .8rem; color: var(--muted); }
dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(280px, 1fr)); gap: 1rem; }
figure { margin: 0; }
figcaption { font-size: .85rem; color: var(--muted); }
.chart svg { display: block; width: 100%; height: auto; }
.plot { fill: none; stroke: var(--border); }
.line { fill: none; stroke-width: 2; stroke-linejoin: round; vector-effect: non-scaling-stroke; }
.line.failed { stroke: var(--failed); } .line.slow { stroke: var(--slow); stroke-dasharray: 5 3; } .line.ok { stroke: var(--ok); }
.line.timeout { stroke: var(--timeout); stroke-dasharray: 4 2; } .line.rejected { stroke: var(--rejected); stroke-dasharray: 1 3; stroke-linecap: round; }
.line.ignored { stroke: var(--ignored); stroke-dasharray: 8 3; }
.threshold { stroke-width: 1; stroke-dasharray: 3 3; vector-effect: non-scaling-stroke; }
.threshold.failed { stroke: var(--failed); } .threshold.slow { stroke: var(--slow); }
.axis { font-size: 9px; fill: var(--muted); } .axis.failed { fill: var(--failed); } .axis.slow { fill: var(--slow); }
.legend { display: flex; flex-wrap: wrap; gap: .2rem .8rem; font-size: .8rem; margin-top: .25rem; }
.key::before { content: ""; display: inline-block; width: 1.1em; height: .3em; margin-right: .3em; vertical-align: middle; }
.key.ok::before { background: var(--ok); } .key.failed::before { background: var(--failed); } .key.timeout::before { background: var(--timeout); }
.key.rejected::before { background: var(--rejected); } .key.ignored::before { background: var(--ignored); }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .75rem; }
button { font: inherit; padding: .3rem .8rem; border: 1px solid var(--border); border-radius: 4px; background: var(--bg); color: var(--text); cursor: pointer; }
button:hover { border-color: var(--text); }
button:disabled { opacity: .6; cursor: progress; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.result { min-height: 1.4em; margin-top: .4rem; }
.result[data-outcome=refused], .result[data-outcome=failed] { color: var(--failed); font-weight: 600; }
.result[data-outcome=ok] { color: var(--ok); }
details { margin-top: .5rem; }
summary { cursor: pointer; }
ol { margin: .25rem 0; padding-left: 1.4rem; font-size: .9rem; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; background: var(--card); }
th, td { border: 1px solid var(--border); padding: .3rem .6rem; text-align: left; font-weight: normal; }
thead th { font-weight: 600; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
`;

const BODY = `
<header class="page">
  <h1>Circuit breakers</h1>
  <p id="connection" class="connection" role="status" data-status="connecting">Connecting&hellip;</p>
  <p id="instance" class="muted"></p>
</header>
<main>
  <section id="credentials-section" class="credentials" aria-labelledby="credentials-title" hidden>
    <h2 id="credentials-title">Credentials for actions</h2>
    <form id="credentials" autocomplete="off">
      <label for="credential">Header <code id="credential-header"></code></label>
      <input id="credential" name="credential" type="password" autocomplete="off" spellcheck="false">
    </form>
    <p class="hint">Sent only with the action buttons, to the admin API; kept in this tab's memory, never stored.</p>
  </section>
  <p id="announcer" class="visually-hidden" aria-live="polite"></p>
  <section aria-labelledby="breakers-title">
    <h2 id="breakers-title">Breakers</h2>
    <p id="empty" class="muted">No breakers yet.</p>
    <div id="breakers"></div>
  </section>
  <section id="families-section" aria-labelledby="families-title" hidden>
    <h2 id="families-title">Families of keyed breakers</h2>
    <table id="families"></table>
    <p class="hint">One row per family: how many of its keys are in each state, and its open keys (the first 20, sorted).</p>
  </section>
  <section aria-labelledby="instances-title">
    <h2 id="instances-title">Instances</h2>
    <table id="instances"></table>
    <p class="hint">Each row is one instance of the service and its view of each breaker.</p>
  </section>
</main>`;

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** Sent with the page: only its own style and script run, only its own origin is reached, no framing. */
export const DASHBOARD_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src 'sha256-${sha256(DASHBOARD_SCRIPT)}'`,
  `style-src 'sha256-${sha256(STYLE)}'`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function renderDashboardPage(config: DashboardPageConfig): string {
  // A JSON data block is never executed; "<" is escaped so no value can close the element.
  const data = JSON.stringify(config).replace(/</g, '\\u003c');
  return (
    '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    '<title>Circuit breakers</title>\n<link rel="icon" href="data:,">\n' +
    `<style>${STYLE}</style>\n</head>\n<body>${BODY}\n` +
    `<script type="application/json" id="dashboard-config">${data}</script>\n` +
    `<script>${DASHBOARD_SCRIPT}</script>\n</body>\n</html>\n`
  );
}

/**
 * URLs the page uses, relative to where the browser shows it (so a proxy that mounts the app under
 * a path of its own keeps them right). `requestPath` is the page request's path as the app saw it;
 * the app's global prefix is whatever precedes `dashboardPath` in it, and applies to the admin path too.
 */
export function pageUrls(requestPath: string, dashboardPath: string, adminPath: string | undefined): Pick<DashboardPageConfig, 'eventsUrl' | 'adminUrl'> {
  const pathOnly = requestPath.split('?')[0]!;
  const page = segments(pathOnly);
  const dashboard = segments(dashboardPath);
  const servedAt = page.slice(-dashboard.length).join('/') === dashboard.join('/');
  const prefix = servedAt ? page.slice(0, page.length - dashboard.length) : [];
  // The browser resolves relative URLs against the page's "directory".
  const base = pathOnly.endsWith('/') ? page : page.slice(0, -1);
  return {
    eventsUrl: relative(base, [...page, 'events']),
    adminUrl: adminPath === undefined ? null : adminPath.startsWith('/') ? adminPath : relative(base, [...prefix, ...segments(adminPath)]),
  };
}

function segments(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function relative(from: string[], to: string[]): string {
  let common = 0;
  // Keep at least the target's last segment, so the URL never ends at a directory.
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  const up = from.length - common;
  return (up === 0 ? './' : '../'.repeat(up)) + to.slice(common).join('/');
}
