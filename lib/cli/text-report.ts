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
    const parts = [`${count(breaker.calls)} calls`];
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
    out.push('', `Breaker "${breaker.name}"`, table(REPLAY_COLUMNS, results.map((r) => replayRow(r, report.trace.startMs)), REPLAY_NUMERIC));
    for (const result of results) {
      if (result.episodes.length === 0) continue;
      const shown = result.episodes.slice(0, 5).map((e) => `${offset(e.openedAtMs, report.trace.startMs)}${e.closedAtMs === null ? ' (still open at the end)' : ` to ${offset(e.closedAtMs, report.trace.startMs)}`}`);
      const more = result.episodes.length > 5 ? `, and ${count(result.episodes.length - 5)} more` : '';
      out.push(`  ${result.config}: open ${shown.join(', ')}${more}`);
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
  for (const breaker of report.breakers) {
    out.push(
      '',
      `Breaker "${breaker.breaker}": ${count(report.configurations)} configurations replayed; ${count(breaker.front.length)} on the best trade-off between failed calls admitted and successful calls rejected` +
        (breaker.suggested.length < breaker.front.length ? `, ${breaker.suggested.length} of them shown (spread from the most protective to the cheapest)` : '') +
        ':',
    );
    const rows = breaker.suggested.map((s, i) => suggestRow(String(i + 1), s));
    rows.push(suggestRow('', breaker.defaults));
    out.push(table(SUGGEST_COLUMNS, rows, SUGGEST_NUMERIC), '  (the last row, unnumbered: the engine\'s defaults' + (report.base === null ? ')' : ` with ${report.base})`));
    out.push('', 'Options (JSON, for a replay --config file or the breaker\'s options):');
    breaker.suggested.forEach((s, i) => out.push(`  ${i + 1}  ${JSON.stringify(s.options)}`));
  }
  out.push('', COLUMN_NOTES[0]!, COLUMN_NOTES[1]!, '');
  return out.join('\n');
}
