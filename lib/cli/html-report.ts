/**
 * `replay --html report.html`: one self-contained page (inline CSS and SVG, no script, nothing
 * fetched), with a timeline per breaker: the dependency as recorded, then for each configuration
 * its state over time and, per slice of time, the failed calls it admitted and the successful
 * calls it rejected, on one scale so that configurations compare at a glance.
 */
import type { BreakerCharts, ReplayOutcome, ReplayResult, RunTimeline, Timeline } from '../tuning/index.js';
import { count, duration, iso, offset } from './format.js';
import { COLUMN_NOTES } from './text-report.js';

const WIDTH = 960;
const LABEL = 170;
const PLOT = WIDTH - LABEL - 10;
const MAX_COLUMNS = 240;
const TRACE_HEIGHT = 64;
const BAND = 12;
const BARS = 34;
const ROW_GAP = 14;
const AXIS = 26;

const COLORS = {
  success: '#9ccc65',
  failure: '#e53935',
  ignored: '#b0bec5',
  inferred: '#6d4c41',
  closed: '#c8e6c9',
  open: '#e53935',
  half_open: '#ffb300',
  failedAdmitted: '#b71c1c',
  rejectedWouldSucceed: '#fb8c00',
} as const;

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Sums a timeline's slices into `columns` columns over [startMs, endMs]. */
function columnsOf<S extends string>(timeline: Timeline<S>, series: S, startMs: number, columnMs: number, columns: number): number[] {
  const out = new Array<number>(columns).fill(0);
  const counts = timeline.counts[series];
  for (let i = 0; i < counts.length; i++) {
    const column = Math.min(columns - 1, Math.max(0, Math.floor((timeline.originMs + i * timeline.sliceMs - startMs) / columnMs)));
    out[column]! += counts[i]!;
  }
  return out;
}

const fixed = (n: number): string => (Math.round(n * 10) / 10).toString();

function breakerChart(charts: BreakerCharts, results: readonly ReplayResult[], startMs: number): string {
  const endMs = Math.max(startMs + 1, ...charts.runs.map((run) => run.endMs));
  const spanMs = endMs - startMs;
  const sliceMs = Math.max(charts.trace.sliceMs, ...charts.runs.map((run) => run.counts.sliceMs));
  const columns = Math.max(1, Math.min(MAX_COLUMNS, Math.ceil(spanMs / sliceMs)));
  const columnMs = spanMs / columns;
  const columnWidth = PLOT / columns;
  const x = (atMs: number): number => LABEL + ((atMs - startMs) / spanMs) * PLOT;
  const parts: string[] = [];

  // The dependency as recorded: calls per column, failures stacked on successes.
  const success = columnsOf(charts.trace, 'success', startMs, columnMs, columns);
  const failure = columnsOf(charts.trace, 'failure', startMs, columnMs, columns);
  const ignored = columnsOf(charts.trace, 'ignored', startMs, columnMs, columns);
  const inferred = columnsOf(charts.trace, 'inferred', startMs, columnMs, columns);
  const peak = Math.max(1, ...success.map((s, i) => s + failure[i]! + ignored[i]!));
  parts.push(`<text x="4" y="${TRACE_HEIGHT / 2}" class="label">the dependency</text><text x="4" y="${TRACE_HEIGHT / 2 + 14}" class="sub">calls per ${escape(duration(columnMs))}</text>`);
  for (let i = 0; i < columns; i++) {
    let y = TRACE_HEIGHT;
    const left = fixed(LABEL + i * columnWidth);
    const width = fixed(Math.max(0.5, columnWidth - 0.3));
    const stack: [keyof typeof COLORS, number][] = [['success', success[i]!], ['ignored', ignored[i]!], ['failure', failure[i]!]];
    for (const [kind, n] of stack) {
      if (n === 0) continue;
      const height = (n / peak) * (TRACE_HEIGHT - 4);
      y -= height;
      parts.push(`<rect x="${left}" y="${fixed(y)}" width="${width}" height="${fixed(height)}" fill="${COLORS[kind]}"><title>${escape(offset(startMs + i * columnMs, startMs))}: ${count(n)} ${kind}</title></rect>`);
    }
  }

  // Where outcomes were inferred (calls the recording breaker rejected): a strip under the bars.
  for (let i = 0; i < columns; i++) {
    if (inferred[i] === 0) continue;
    parts.push(`<rect x="${fixed(LABEL + i * columnWidth)}" y="${TRACE_HEIGHT + 1}" width="${fixed(Math.max(0.5, columnWidth))}" height="3" fill="${COLORS.inferred}"><title>${escape(offset(startMs + i * columnMs, startMs))}: ${count(inferred[i]!)} outcomes inferred</title></rect>`);
  }

  // Each configuration: its state band, then failed calls admitted (down, red) and successful calls
  // rejected (down, orange, beside), all configurations on one scale.
  const failed = charts.runs.map((run) => columnsOf(run.counts, 'failedAdmitted', startMs, columnMs, columns));
  const wasted = charts.runs.map((run) => columnsOf(run.counts, 'rejectedWouldSucceed', startMs, columnMs, columns));
  const barPeak = Math.max(1, ...failed.flat(), ...wasted.flat());
  let top = TRACE_HEIGHT + ROW_GAP;
  charts.runs.forEach((run: RunTimeline, r) => {
    const result = results[r]!;
    parts.push(`<text x="4" y="${top + 10}" class="label">${escape(truncate(result.config, 26))}<title>${escape(result.config)}</title></text>`);
    parts.push(`<text x="4" y="${top + 24}" class="sub">${count(result.openings)} openings, ${count(result.flaps)} flaps</text>`);
    run.states.forEach((change, k) => {
      const until = k + 1 < run.states.length ? run.states[k + 1]!.atMs : run.endMs;
      if (until <= change.atMs && k + 1 < run.states.length) return;
      const left = x(change.atMs);
      const width = Math.max(0.5, x(until) - left);
      parts.push(`<rect x="${fixed(left)}" y="${top}" width="${fixed(width)}" height="${BAND}" fill="${COLORS[change.state as 'closed' | 'open' | 'half_open'] ?? '#90a4ae'}"><title>${escape(change.state)} from ${escape(offset(change.atMs, startMs))} to ${escape(offset(until, startMs))}</title></rect>`);
    });
    const base = top + BAND + 2;
    const half = Math.max(0.5, columnWidth / 2 - 0.2);
    for (let i = 0; i < columns; i++) {
      const left = LABEL + i * columnWidth;
      const f = failed[r]![i]!;
      const w = wasted[r]![i]!;
      if (f > 0) parts.push(`<rect x="${fixed(left)}" y="${base}" width="${fixed(half)}" height="${fixed(Math.max(1, (f / barPeak) * BARS))}" fill="${COLORS.failedAdmitted}"><title>${escape(offset(startMs + i * columnMs, startMs))}: ${count(f)} failed calls admitted</title></rect>`);
      if (w > 0) parts.push(`<rect x="${fixed(left + columnWidth / 2)}" y="${base}" width="${fixed(half)}" height="${fixed(Math.max(1, (w / barPeak) * BARS))}" fill="${COLORS.rejectedWouldSucceed}"><title>${escape(offset(startMs + i * columnMs, startMs))}: ${count(w)} successful calls rejected</title></rect>`);
    }
    top += BAND + 2 + BARS + ROW_GAP;
  });

  // Time axis: a tick every round interval, about eight of them.
  const step = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((s) => s * 1000).find((ms) => spanMs / ms <= 8) ?? 86_400_000;
  parts.push(`<line x1="${LABEL}" y1="${top}" x2="${LABEL + PLOT}" y2="${top}" class="axis"/>`);
  for (let at = 0; at <= spanMs; at += step) {
    const left = fixed(x(startMs + at));
    parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + 4}" class="axis"/><text x="${left}" y="${top + 16}" class="tick">${escape(offset(startMs + at, startMs).replace(/\.0s$/, 's'))}</text>`);
  }
  const height = top + AXIS;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-label="timeline of breaker ${escape(charts.breaker)}">${parts.join('')}</svg>`;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `...${text.slice(text.length - max + 3)}`;
}

function summaryTable(results: readonly ReplayResult[], startMs: number): string {
  const head = ['config', 'calls', 'admitted', 'rejected', 'openings', 'first open', 'failed admitted', 'rejected would succeed', 'recovery to close (max)', 'flaps', 'time open'];
  const rows = results.map((r) =>
    [
      escape(r.config),
      count(r.calls),
      count(r.admitted),
      count(r.rejected),
      count(r.openings),
      r.firstOpenAtMs === null ? '-' : offset(r.firstOpenAtMs, startMs),
      count(r.failedCallsAdmitted),
      count(r.rejectedWouldSucceed),
      r.maxRecoveryToCloseMs === null ? (r.episodes.length > 0 ? 'still open' : '-') : duration(r.maxRecoveryToCloseMs),
      count(r.flaps),
      duration(r.timeNotClosedMs),
    ]
      .map((cell, i) => `<td${i === 0 ? '' : ' class="n"'}>${cell}</td>`)
      .join(''),
  );
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2933;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:20px}h2{font-size:17px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0 16px}th,td{padding:3px 8px;border-bottom:1px solid #e4e7eb;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}td:first-child{white-space:nowrap}th{font-weight:600;font-size:12px;color:#52606d}
.label{font-size:12px;font-weight:600;fill:#1f2933}.sub{font-size:10px;fill:#52606d}.tick{font-size:10px;fill:#52606d;text-anchor:middle}
.axis{stroke:#9aa5b1}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
.notes{color:#52606d;font-size:12px}`;

/** The whole page. Deterministic: the same outcome gives the same bytes. */
export function renderReplayHtml(outcome: ReplayOutcome): string {
  const { report, charts } = outcome;
  const trace = report.trace;
  const legend = (
    [
      ['success', 'success'],
      ['failure', 'failure or timeout'],
      ['ignored', 'ignored'],
      ['inferred', 'outcomes inferred'],
      ['closed', 'closed'],
      ['half_open', 'half_open'],
      ['open', 'open'],
      ['failedAdmitted', 'failed calls admitted'],
      ['rejectedWouldSucceed', 'successful calls rejected'],
    ] as const
  )
    .map(([key, text]) => `<span style="background:${COLORS[key]}"></span>${text}`)
    .join('');
  const sections = trace.breakers.map((breaker) => {
    const results = report.results.filter((r) => r.breaker === breaker.name);
    const chart = charts.find((c) => c.breaker === breaker.name);
    const inferred = breaker.recordedRejected > 0 ? `; ${count(breaker.recordedRejected)} rejected by the recording breaker (outcomes inferred: ${count(breaker.inferred.successes)} successes, ${count(breaker.inferred.failures)} failures, ${count(breaker.inferred.timeouts)} timeouts)` : '';
    return (
      `<h2>Breaker${breaker.keys === undefined ? '' : ' family'} "${escape(breaker.name)}"</h2><p>${count(breaker.calls)} calls${breaker.keys === undefined ? '' : ` over ${count(breaker.keys)} keys, each replayed as its own breaker (counts summed over them; no state band)`}${inferred}.</p>` +
      summaryTable(results, trace.startMs) +
      (chart === undefined ? '' : `<p class="legend">${legend}</p>${breakerChart(chart, results, trace.startMs)}`)
    );
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>nestjs-breaker replay: ${escape(trace.source)}</title><style>${STYLE}</style></head>
<body><h1>Replay of ${escape(trace.source)}</h1>
<p>${count(trace.calls)} calls from ${iso(trace.startMs)} to ${iso(trace.endMs)} (${duration(trace.endMs - trace.startMs)}), replayed through ${count(report.results.length / Math.max(1, trace.breakers.length))} configurations with the nestjs-breaker engine on a manual clock.</p>
${sections.join('\n')}
<p class="notes">${[...COLUMN_NOTES, `Calls rejected by the recording breaker: ${trace.inferenceRule}.`].map(escape).join('<br>')}</p>
</body></html>
`;
}
