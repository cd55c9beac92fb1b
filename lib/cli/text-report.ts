/** The tables `replay` and `suggest` print (without --json). */
import { CircuitBreaker } from '../core/index.js';
import type { ResolvedOptions } from '../core/index.js';
import type { ReplayReport, ReplayResult, SuggestReport, Suggestion, TraceSummary } from '../tuning/index.js';
import { count, duration, iso, offset, table } from './format.js';

/** What was read, and how the calls the recorder rejected were inferred. */
export function traceHeader(trace: TraceSummary): string {
  const lines = [`Trace ${trace.source}: ${count(trace.calls)} calls from ${iso(trace.startMs)} to ${iso(trace.endMs)} (${duration(trace.endMs - trace.startMs)})`];
  let inferred = false;
  for (const breaker of trace.breakers) {
    const parts = [breaker.keys === undefined ? `${count(breaker.calls)} calls` : `${count(breaker.calls)} calls over ${count(breaker.keys)} keys (a family of keyed breakers, each key replayed as its own breaker)`];
    if (breaker.recordedRejected > 0) {
      inferred = true;
      const { successes, failures, timeouts, withoutNeighbour } = breaker.inferred;
      const outcomes = [`${count(successes)} as successes`, `${count(failures)} as failures`];
      if (timeouts > 0) outcomes.push(`${count(timeouts)} as timeouts`);
      parts.push(`${count(breaker.recordedRejected)} rejected by the recording breaker, inferred ${outcomes.join(', ')}${withoutNeighbour > 0 ? ` (${count(withoutNeighbour)} with no call to go by)` : ''}`);
    }
    lines.push(`  "${breaker.name}": ${parts.join('; ')}`);
  }
  if (inferred) lines.push(`  Inference rule: ${trace.inferenceRule}.`);
  if (trace.outOfOrder > 0) lines.push(`  ${count(trace.outOfOrder)} lines came out of start order (a recorder writes a call when it ends) and were replayed in order.`);
  if (trace.incompleteLastLine !== null) lines.push(`  Line ${trace.incompleteLastLine} was cut off mid-write (no newline, not valid) and was skipped.`);
  return lines.join('\n');
}

const REPLAY_COLUMNS = ['config', 'calls', 'admitted', 'rejected', 'openings', 'first open', 'failed admitted', 'rejected would succeed', 'recovery to close (max)', 'flaps', 'time open'];
const REPLAY_NUMERIC = [false, true, true, true, true, true, true, true, true, true, true];

function replayRow(result: ReplayResult, startMs: number): string[] {
  return [
    result.config,
    count(result.calls),
    count(result.admitted),
    count(result.rejected),
    count(result.openings),
    result.firstOpenAtMs === null ? '-' : offset(result.firstOpenAtMs, startMs),
    count(result.failedCallsAdmitted),
    count(result.rejectedWouldSucceed),
    result.maxRecoveryToCloseMs === null ? (result.episodes.length > 0 ? 'still open' : '-') : duration(result.maxRecoveryToCloseMs),
    count(result.flaps),
    duration(result.timeNotClosedMs),
  ];
}

export const COLUMN_NOTES = [
  'failed admitted: calls that reached the dependency while it failed (recorded failures and timeouts).',
  'rejected would succeed: calls rejected that the trace says would have succeeded (the cost of protection).',
  'recovery to close: from the first success after the last failure to the circuit closing, per opening.',
  'flaps: openings less than a minute after the previous close. time open: time not closed (open or half_open).',
];

export function renderReplayText(report: ReplayReport): string {
  const out = [traceHeader(report.trace)];
  for (const breaker of report.trace.breakers) {
    const results = report.results.filter((result) => result.breaker === breaker.name);
    const title = breaker.keys === undefined ? `Breaker "${breaker.name}"` : `Breaker family "${breaker.name}" (${count(breaker.keys)} keys, each replayed as its own breaker; counts summed over them)`;
    out.push('', title, table(REPLAY_COLUMNS, results.map((r) => replayRow(r, report.trace.startMs)), REPLAY_NUMERIC));
    for (const result of results) {
      if (result.episodes.length === 0) continue;
      const shown = result.episodes
        .slice(0, 5)
        .map((e) => `${e.key === undefined ? '' : `${e.key} `}${offset(e.openedAtMs, report.trace.startMs)}${e.closedAtMs === null ? ' (still open at the end)' : ` to ${offset(e.closedAtMs, report.trace.startMs)}`}`);
      const total = result.keys?.episodes ?? result.episodes.length;
      const more = total > 5 ? `, and ${count(total - 5)} more` : '';
      const keys = result.keys === undefined ? '' : ` (${count(result.keys.opened)} of ${count(result.keys.count)} keys opened)`;
      out.push(`  ${result.config}: open ${shown.join(', ')}${more}${keys}`);
    }
  }
  out.push('', ...COLUMN_NOTES, '');
  return out.join('\n');
}

const SUGGEST_COLUMNS = ['#', 'window', 'threshold', 'min calls', 'open', 'failed admitted', 'rejected would succeed', 'openings', 'flaps', 'recovery to close (max)'];
const SUGGEST_NUMERIC = [true, false, true, true, true, true, true, true, true, true];

/** The engine's defaults, as a breaker built with no options has them (read once, on first use). */
let engineDefaults: ResolvedOptions | undefined;
function defaults(): ResolvedOptions {
  if (engineDefaults === undefined) {
    const breaker = new CircuitBreaker({ name: 'defaults' });
    engineDefaults = breaker.options;
    breaker.dispose();
  }
  return engineDefaults;
}

function suggestRow(label: string, s: Suggestion): string[] {
  const { options, result } = s;
  const DEFAULTS = defaults();
  const window = options.slidingWindow ?? DEFAULTS.slidingWindow;
  return [
    label,
    window.type === 'count' ? `last ${window.size} calls` : `last ${duration(window.durationMs)}`,
    `${options.failureRateThreshold ?? DEFAULTS.failureRateThreshold} %`,
    String(options.minimumCalls ?? DEFAULTS.minimumCalls),
    duration(options.openDurationMs ?? DEFAULTS.openDurationMs),
    count(result.failedCallsAdmitted),
    count(result.rejectedWouldSucceed),
    count(result.openings),
    count(result.flaps),
    result.maxRecoveryToCloseMs === null ? '-' : duration(result.maxRecoveryToCloseMs),
  ];
}

export function renderSuggestText(report: SuggestReport): string {
  const out = [traceHeader(report.trace)];
  const current = report.base === null ? "the engine's defaults" : `your options (${report.base})`;
  const currentRow = report.base === null ? "the engine's defaults (the last row)" : `your options (${report.base}, the last row)`;
  const lastRow = report.base === null ? "the engine's defaults" : `${report.base} with the engine's defaults for the rest`;
  for (const breaker of report.breakers) {
    const keys = breaker.defaults.result.keys;
    const name = `Breaker "${breaker.breaker}"${keys === undefined ? '' : ` (${count(keys.count)} keys; counts summed over them)`}`;
    out.push('', `${name}: ${count(report.configurations)} configurations replayed.`);
    if (breaker.defaultsOnFront) {
      out.push(`${capitalise(current)} are on the best trade-off between failed calls admitted and successful calls rejected: no other configuration does better on both counts.`);
    }
    if (breaker.front.length === 0) {
      out.push(`None of the others does better than ${currentRow} on either count.`);
    } else {
      out.push(
        `${count(breaker.front.length)} ${breaker.defaultsOnFront ? 'other ' : ''}configuration${breaker.front.length === 1 ? ' is' : 's are'} on the best trade-off, each doing better than ${currentRow} on at least one count` +
          (breaker.suggested.length < breaker.front.length ? `; ${breaker.suggested.length} of them shown (spread from the most protective to the cheapest)` : '') +
          ':',
      );
    }
    const rows = breaker.suggested.map((s, i) => suggestRow(String(i + 1), s));
    rows.push(suggestRow('', breaker.defaults));
    out.push(table(SUGGEST_COLUMNS, rows, SUGGEST_NUMERIC), `  (the last row, unnumbered: ${lastRow})`);
    if (breaker.suggested.length > 0) {
      out.push('', 'Options (JSON, for a replay --config file or the breaker\'s options):');
      breaker.suggested.forEach((s, i) => out.push(`  ${i + 1}  ${JSON.stringify(s.options)}`));
    }
  }
  out.push('', COLUMN_NOTES[0]!, COLUMN_NOTES[1]!, '');
  return out.join('\n');
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
