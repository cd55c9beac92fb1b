/**
 * Name patterns in `breakers` (`'payments-*': {...}`): options for every breaker whose name matches
 * and that no entry names exactly. `*` stands for any run of characters (none included); every
 * other character stands for itself.
 *
 * The most specific pattern wins: the one with the most literal characters (characters other than
 * `*`). An exact name beats every pattern. Two patterns with as many literal characters that can
 * both match one name would leave the winner to declaration order, so they are a configuration
 * error listing each such pair and a name both match.
 */
import { CircuitBreakerConfigError } from './core/errors.js';
import type { Declaration } from './breaker-declarations.js';

export function isPattern(name: string): boolean {
  return name.includes('*');
}

/** Literal characters: the pattern's specificity. */
export function specificityOf(pattern: string): number {
  let literal = 0;
  for (const char of pattern) if (char !== '*') literal++;
  return literal;
}

interface Entry extends Declaration {
  readonly pattern: string;
  readonly specificity: number;
  readonly regex: RegExp;
}

export class BreakerPatterns {
  private readonly entries: Entry[] = [];

  get size(): number {
    return this.entries.length;
  }

  get(pattern: string): Declaration | undefined {
    return this.entries.find((entry) => entry.pattern === pattern);
  }

  /** Adds a pattern; `check` false defers the conflict check (a registration adds all its patterns first, see {@link conflictError}). */
  add(pattern: string, declaration: Declaration, check = true): void {
    const entry: Entry = { ...declaration, pattern, specificity: specificityOf(pattern), regex: toRegExp(pattern) };
    if (check) {
      const error = conflictError(this.entries.flatMap((other) => conflict(other, entry)));
      if (error !== undefined) throw error;
    }
    this.entries.push(entry);
  }

  /** Every pair of conflicting patterns, as one error listing them; undefined when there is none. */
  conflicts(): CircuitBreakerConfigError | undefined {
    const pairs: string[] = [];
    for (let i = 0; i < this.entries.length; i++) {
      for (let j = i + 1; j < this.entries.length; j++) pairs.push(...conflict(this.entries[i]!, this.entries[j]!));
    }
    return conflictError(pairs);
  }

  /** The most specific pattern matching `name`, or undefined. */
  match(name: string): (Declaration & { readonly pattern: string }) | undefined {
    let best: Entry | undefined;
    for (const entry of this.entries) {
      if ((best === undefined || entry.specificity > best.specificity) && entry.regex.test(name)) best = entry;
    }
    return best;
  }
}

function toRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${body}$`, 'u');
}

function conflict(a: Entry, b: Entry): string[] {
  if (a.specificity !== b.specificity || a.pattern === b.pattern) return [];
  const name = commonName(a.pattern, b.pattern);
  if (name === undefined) return [];
  return [`"${a.pattern}" (${a.source}) and "${b.pattern}" (${b.source}) both have ${a.specificity} literal characters and both match e.g. ${JSON.stringify(name)}`];
}

function conflictError(pairs: string[]): CircuitBreakerConfigError | undefined {
  if (pairs.length === 0) return undefined;
  const first = pairs[0]!.slice(1, pairs[0]!.indexOf('"', 1));
  return new CircuitBreakerConfigError(
    first,
    'breakers',
    first,
    `patterns that never tie: the most specific pattern (most characters other than "*") wins, and these pairs tie on a name both match, ` +
      `so which one applies would depend on declaration order: ${pairs.join('; ')}. Make one of each pair more specific, or name the breaker exactly`,
  );
}

/**
 * A name both patterns match, or undefined when there is none: a search over pairs of positions,
 * each step consuming a literal both accept, or letting a `*` take the other pattern's next
 * literal or match nothing more.
 */
export function commonName(a: string, b: string): string | undefined {
  const seen = new Set<number>();
  const width = b.length + 1;
  const queue: { i: number; j: number; name: string }[] = [{ i: 0, j: 0, name: '' }];
  while (queue.length > 0) {
    const { i, j, name } = queue.shift()!;
    if (seen.has(i * width + j)) continue;
    seen.add(i * width + j);
    if (i === a.length && j === b.length) return name;
    const ca = a[i];
    const cb = b[j];
    if (ca === '*') queue.push({ i: i + 1, j, name });
    if (cb === '*') queue.push({ i, j: j + 1, name });
    if (ca !== undefined && cb !== undefined) {
      if (ca !== '*' && cb !== '*' && ca === cb) queue.push({ i: i + 1, j: j + 1, name: name + ca });
      else if (ca === '*' && cb !== '*') queue.push({ i, j: j + 1, name: name + cb });
      else if (cb === '*' && ca !== '*') queue.push({ i: i + 1, j, name: name + ca });
    }
  }
  return undefined;
}
