/**
 * The `nestjs-breaker` command (bin/nestjs-breaker.mjs runs it): `replay`, `suggest` and
 * `example-trace`. `main` takes its arguments and its input/output, and returns the exit code, so
 * tests run it in process; 0 = done, 1 = bad input (a trace, a configuration, a file), 2 = bad usage.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CandidateConfigError,
  SYNTHETIC_SCENARIOS,
  TraceError,
  candidateConfig,
  formatTraceRecord,
  loadCandidateConfig,
  replayTrace,
  suggestConfigs,
  syntheticTrace,
} from '../tuning/index.js';
import type { SyntheticScenario, TraceInput } from '../tuning/index.js';
import { renderReplayHtml } from './html-report.js';
import { renderReplayText, renderSuggestText } from './text-report.js';

/** Where the command reads and writes. */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Relative paths are resolved against it. */
  readonly cwd: string;
  /** Read for `--trace -` (a stream, or chunks of text). */
  readonly stdin: Exclude<TraceInput, string>;
}

const USAGE = {
  replay: `nestjs-breaker replay --trace <calls.ndjson|-> --config <a.json> [--config <b.json> ...]
                      [--breaker <name>] [--json] [--html <report.html>] [--reorder-window-ms <ms>]
  Replays a recorded trace through the engine once per configuration (a JSON file of breaker
  options) and compares what each would have done.`,
  suggest: `nestjs-breaker suggest --trace <calls.ndjson|-> [--breaker <name>] [--base <options.json>] [--top <n>]
                       [--json] [--reorder-window-ms <ms>]
  Replays a grid of configurations (failure threshold, minimum calls, window, open duration) and
  prints those on the best trade-off between failed calls admitted and successful calls rejected.`,
  'example-trace': `nestjs-breaker example-trace [--scenario outage|flaky|slow|steady] [--minutes <10>] [--rps <20>]
                             [--seed <1>] [--breaker <payments>] [--recorded-by <options.json> | --unprotected]
                             [--out <calls.ndjson>]
  Writes a realistic synthetic trace (seeded: the same options give the same trace), as a breaker
  with the recording options (default {"failureRateThreshold": 50, "timeoutMs": 2000}) would have
  recorded it; --unprotected records every call as the dependency answered it.`,
} as const;

const HELP = `Usage:
  ${USAGE.replay}

  ${USAGE.suggest}

  ${USAGE['example-trace']}

The trace format, the report's columns and how to read them: docs/tuning.md in the package.
`;

class UsageError extends Error {
  constructor(
    message: string,
    readonly command: keyof typeof USAGE | undefined,
  ) {
    super(message);
  }
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'replay':
        return await replay(rest, io);
      case 'suggest':
        return await suggest(rest, io);
      case 'example-trace':
        return await exampleTrace(rest, io);
      case undefined:
        io.err(HELP);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        io.out(HELP);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`, undefined);
    }
  } catch (error) {
    const where = command === 'replay' || command === 'suggest' || command === 'example-trace' ? `nestjs-breaker ${command}` : 'nestjs-breaker';
    if (error instanceof UsageError) {
      io.err(`${where}: ${error.message}\n\n${error.command === undefined ? HELP : `Usage:\n  ${USAGE[error.command]}\n`}`);
      return 2;
    }
    if (error instanceof TraceError || error instanceof CandidateConfigError || error instanceof OutputError) {
      io.err(`${where}: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  }
}

/** A file the command was asked to write cannot be written. */
class OutputError extends Error {}

function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    cwd: process.cwd(),
    stdin: process.stdin,
  };
}

type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>;

/** The flags given, read by kind. */
class Flags {
  constructor(private readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  }

  has(name: string): boolean {
    return this.values[name] === true;
  }
}

function parse(command: keyof typeof USAGE, args: readonly string[], options: FlagSpec): Flags {
  try {
    const { values } = parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: false, strict: true });
    return new Flags(values);
  } catch (error) {
    throw new UsageError((error as Error).message, command);
  }
}

function traceInput(given: string, io: CliIo): { input: TraceInput; source: string } {
  return given === '-' ? { input: io.stdin, source: 'stdin' } : { input: resolve(io.cwd, given), source: given };
}

/**
 * A numeric flag: a number (an integer when `integer`) of at least 0, or above 0 when `positive`;
 * every wrong value gets the same message, whatever is wrong with it.
 */
function numberFlag(command: keyof typeof USAGE, flag: string, value: string | undefined, kind: { integer?: boolean; positive?: boolean } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const { integer = false, positive = false } = kind;
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (positive && n === 0) || (integer && !Number.isInteger(n))) {
    const range = positive ? (integer ? '>= 1' : '> 0') : '>= 0';
    throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} ${range}, got "${value}"`, command);
  }
  return n;
}

async function replay(args: readonly string[], io: CliIo): Promise<number> {
  const flags = parse('replay', args, {
    trace: { type: 'string' },
    config: { type: 'string', multiple: true },
    breaker: { type: 'string' },
    json: { type: 'boolean' },
    html: { type: 'string' },
    'reorder-window-ms': { type: 'string' },
  });
  if (flags.has('help')) return help('replay', io);
  const trace = flags.string('trace');
  if (trace === undefined) throw new UsageError('--trace <file> is required (- reads standard input)', 'replay');
  const files = flags.strings('config');
  if (files.length === 0) throw new UsageError('at least one --config <file> is required', 'replay');
  const reorderWindowMs = numberFlag('replay', 'reorder-window-ms', flags.string('reorder-window-ms'));
  // Every configuration is checked before the trace is read: a typo fails in a second, not after a long replay.
  const configs = [];
  for (const file of files) configs.push(await loadCandidateConfig(resolve(io.cwd, file), file));
  const { input, source } = traceInput(trace, io);
  const html = flags.string('html');
  const outcome = await replayTrace(input, {
    configs,
    source,
    timeline: html !== undefined,
    ...(flags.string('breaker') === undefined ? {} : { breaker: flags.string('breaker')! }),
    ...(reorderWindowMs === undefined ? {} : { reorderWindowMs }),
  });
  if (html !== undefined) {
    await write(resolve(io.cwd, html), html, renderReplayHtml(outcome));
    io.err(`HTML report written to ${html}\n`);
  }
  io.out(flags.has('json') ? `${JSON.stringify(outcome.report, null, 2)}\n` : renderReplayText(outcome.report));
  return 0;
}

async function suggest(args: readonly string[], io: CliIo): Promise<number> {
  const flags = parse('suggest', args, {
    trace: { type: 'string' },
    breaker: { type: 'string' },
    base: { type: 'string' },
    top: { type: 'string' },
    json: { type: 'boolean' },
    'reorder-window-ms': { type: 'string' },
  });
  if (flags.has('help')) return help('suggest', io);
  const trace = flags.string('trace');
  if (trace === undefined) throw new UsageError('--trace <file> is required (- reads standard input)', 'suggest');
  const top = numberFlag('suggest', 'top', flags.string('top'), { integer: true, positive: true });
  const reorderWindowMs = numberFlag('suggest', 'reorder-window-ms', flags.string('reorder-window-ms'));
  const baseFile = flags.string('base');
  const base = baseFile === undefined ? undefined : await loadCandidateConfig(resolve(io.cwd, baseFile), baseFile);
  const { input, source } = traceInput(trace, io);
  const report = await suggestConfigs(input, {
    source,
    ...(base === undefined ? {} : { base }),
    ...(top === undefined ? {} : { top }),
    ...(flags.string('breaker') === undefined ? {} : { breaker: flags.string('breaker')! }),
    ...(reorderWindowMs === undefined ? {} : { reorderWindowMs }),
  });
  io.out(flags.has('json') ? `${JSON.stringify(report, null, 2)}\n` : renderSuggestText(report));
  return 0;
}

/** The recording breaker of example traces: README's payments breaker. */
const EXAMPLE_RECORDER = { failureRateThreshold: 50, timeoutMs: 2_000 };

async function exampleTrace(args: readonly string[], io: CliIo): Promise<number> {
  const flags = parse('example-trace', args, {
    scenario: { type: 'string' },
    minutes: { type: 'string' },
    rps: { type: 'string' },
    seed: { type: 'string' },
    breaker: { type: 'string' },
    'recorded-by': { type: 'string' },
    unprotected: { type: 'boolean' },
    out: { type: 'string' },
  });
  if (flags.has('help')) return help('example-trace', io);
  const scenario = (flags.string('scenario') ?? 'outage') as SyntheticScenario;
  if (!SYNTHETIC_SCENARIOS.includes(scenario)) {
    throw new UsageError(`--scenario must be one of ${SYNTHETIC_SCENARIOS.join(', ')}, got "${scenario}"`, 'example-trace');
  }
  const recorderFile = flags.string('recorded-by');
  if (flags.has('unprotected') && recorderFile !== undefined) throw new UsageError('--recorded-by and --unprotected exclude each other', 'example-trace');
  const minutes = numberFlag('example-trace', 'minutes', flags.string('minutes'), { positive: true }) ?? 10;
  const rps = numberFlag('example-trace', 'rps', flags.string('rps'), { positive: true }) ?? 20;
  const seed = numberFlag('example-trace', 'seed', flags.string('seed'), { integer: true }) ?? 1;
  const recordedBy =
    flags.has('unprotected')
      ? undefined
      : recorderFile === undefined
        ? candidateConfig('example recorder', EXAMPLE_RECORDER)
        : await loadCandidateConfig(resolve(io.cwd, recorderFile), recorderFile);
  const records = syntheticTrace({
    scenario,
    durationMs: minutes * 60_000,
    callsPerSecond: rps,
    seed,
    ...(flags.string('breaker') === undefined ? {} : { breaker: flags.string('breaker')! }),
    ...(recordedBy === undefined ? {} : { recordedBy }),
  });
  const out = flags.string('out');
  if (out === undefined) {
    for (let i = 0; i < records.length; i += 10_000) io.out(`${records.slice(i, i + 10_000).map(formatTraceRecord).join('\n')}\n`);
  } else {
    await write(resolve(io.cwd, out), out, records.length === 0 ? '' : `${records.map(formatTraceRecord).join('\n')}\n`);
    io.err(`${records.length} calls written to ${out}\n`);
  }
  return 0;
}

function help(command: keyof typeof USAGE, io: CliIo): number {
  io.out(`Usage:\n  ${USAGE[command]}\n`);
  return 0;
}

async function write(path: string, label: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (error) {
    throw new OutputError(`cannot write ${label}: ${(error as Error).message}`, { cause: error });
  }
}
