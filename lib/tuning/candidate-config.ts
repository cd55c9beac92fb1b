/**
 * A candidate configuration: breaker options from a JSON file, checked before any trace is read.
 * Every error names the file and the option. The engine validates the values (its own messages,
 * with the file in front); this file refuses what a replay cannot reproduce.
 */
import { readFile } from 'node:fs/promises';
import { CircuitBreaker, CircuitBreakerConfigError, ManualClock } from '../core/index.js';
import type { CircuitBreakerSettings, ShadowSettings } from '../core/index.js';

/** The options a replay reproduces: everything a JSON file can express about when to trip and recover (the options a shadow may set too). */
export type ReplaySettings = ShadowSettings;

/**
 * Every breaker option: `true` when a replay reproduces it, otherwise why not. Typed over every key
 * of the engine's settings, so an option added to the engine fails the type check here until
 * someone decides whether a replay can reproduce it.
 */
const REPLAYABLE: Readonly<Record<keyof CircuitBreakerSettings, true | string>> = {
  slidingWindow: true,
  failureRateThreshold: true,
  slowCallDurationMs: true,
  slowCallRateThreshold: true,
  minimumCalls: true,
  minimumFailures: true,
  consecutiveFailureThreshold: true,
  timeoutMs: true,
  openDurationMs: true,
  openDurationBackoff: true,
  halfOpenMaxCalls: true,
  halfOpenProbeTimeoutMs: true,
  healthCheck: 'a trace holds no health-check results, so a replay cannot say when a check would have passed; remove it to replay recovery by openDurationMs',
  isFailure: 'a replay keeps the recorded classification ("o": "failure" or "ignored"); a JSON file cannot hold a function anyway',
  isResultFailure: 'a replay keeps the recorded classification ("o": "success" or "failure"); a JSON file cannot hold a function anyway',
  clock: 'a replay drives its own ManualClock',
  store: 'a replay runs one instance: state shared through a store is not replayed',
  shadows:
    'a replay compares configurations side by side already: give each shadow its own --config file (its options merged over the production ones) instead of a "shadows" option',
  retryAfterMs: 'a trace keeps only the error class, not the Retry-After a failure asked for; a JSON file cannot hold a function anyway',
};

const REPLAYABLE_KEYS = Object.keys(REPLAYABLE).filter((key) => REPLAYABLE[key as keyof CircuitBreakerSettings] === true);

/** A candidate configuration, named as reports show it. */
export interface CandidateConfig {
  /** How reports name it: the file name as given on the command line. */
  readonly label: string;
  readonly settings: Readonly<ReplaySettings>;
}

/** A candidate configuration that cannot be replayed. */
export class CandidateConfigError extends Error {
  override readonly name = 'CandidateConfigError';

  constructor(
    /** The configuration's label (its file). */
    readonly config: string,
    /** The option at fault (a path such as `slidingWindow.size`), or undefined for the file as a whole. */
    readonly option: string | undefined,
    problem: string,
  ) {
    super(`${config}: ${problem}`);
  }
}

/**
 * Checks `value` (a parsed JSON file) as breaker options for a replay; `label` names it in errors.
 * Throws {@link CandidateConfigError}.
 */
export function candidateConfig(label: string, value: unknown): CandidateConfig {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new CandidateConfigError(label, undefined, `must hold a JSON object of breaker options (such as {"failureRateThreshold": 50}), got ${got}`);
  }
  for (const key of Object.keys(value)) {
    if (key === 'name') {
      throw new CandidateConfigError(label, key, 'option "name" does not belong in a candidate configuration: a replay runs it for each breaker of the trace ("b"); remove it');
    }
    if (!Object.hasOwn(REPLAYABLE, key)) {
      const hint = closest(key, REPLAYABLE_KEYS);
      throw new CandidateConfigError(label, key, `unknown option "${key}"${hint === undefined ? '' : ` (did you mean "${hint}"?)`}; the options a replay takes: ${REPLAYABLE_KEYS.join(', ')}`);
    }
    const why = REPLAYABLE[key as keyof CircuitBreakerSettings];
    if (why !== true) throw new CandidateConfigError(label, key, `option "${key}" cannot be replayed: ${why}`);
  }
  const settings = value as ReplaySettings;
  let jitter: number;
  try {
    const probe = new CircuitBreaker({ ...settings, name: 'replay', clock: new ManualClock() });
    jitter = probe.options.openDurationBackoff?.jitter ?? 0;
    probe.dispose();
  } catch (error) {
    if (!(error instanceof CircuitBreakerConfigError)) throw error;
    // The engine's own words, without the breaker name it was given for the check.
    throw new CandidateConfigError(label, error.option, error.message.slice(error.source.length + 2));
  }
  if (jitter !== 0) {
    throw new CandidateConfigError(
      label,
      'openDurationBackoff.jitter',
      `option "openDurationBackoff.jitter" must be 0 in a replay, got ${jitter}: the engine draws jitter at random, and a replay must give the same answer every time. ` +
        'Set it to 0 (or leave it out) to replay the longest open durations the backoff allows',
    );
  }
  // A copy the caller cannot change afterwards; the options are JSON by definition (no function passed the checks above).
  return { label, settings: JSON.parse(JSON.stringify(settings)) as ReplaySettings };
}

/** Reads and checks a candidate configuration file; errors and reports name it `label` (the file as given). */
export async function loadCandidateConfig(file: string, label = file): Promise<CandidateConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
    throw new CandidateConfigError(label, undefined, `cannot read the configuration: ${why}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CandidateConfigError(label, undefined, `not valid JSON: ${(error as Error).message}`);
  }
  return candidateConfig(label, value);
}

/** The known key nearest to a misspelt one (edit distance at most a third of its length), if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
