/**
 * Compares the selectors of PromQL expressions with what a real application exported: metric
 * names (histogram and counter suffixes included), label names, and the values of the labels the
 * library enumerates (state, kind, from, to, le). `name`, `job` and `instance` values are the
 * user's own and not checked; `job` and `instance` are the labels Prometheus adds at scrape time.
 */
import type { Located } from './kit-files.js';
import type { Matcher } from './promql.js';
import { selectorsOf } from './promql.js';
import type { MetricCatalogue } from './exported-metrics.js';

export const TARGET_LABELS: readonly string[] = ['job', 'instance'];
const USER_VALUED = new Set(['name', ...TARGET_LABELS]);

/** Problems found, one sentence each; empty when every selector names what the library exports. */
export function unexportedNames(expressions: readonly Located[], exported: MetricCatalogue): string[] {
  const problems: string[] = [];
  for (const { where, expr } of expressions) {
    for (const { metric, matchers } of selectorsOf(expr)) {
      const labels = exported.get(metric);
      if (labels === undefined) {
        problems.push(`${where}: metric "${metric}" is not exported`);
        continue;
      }
      for (const matcher of matchers) {
        const problem = matcherProblem(metric, matcher, labels);
        if (problem !== undefined) problems.push(`${where}: ${problem}`);
      }
    }
  }
  return problems;
}

/** Problems of input series, which must carry exactly the exported labels plus job and instance. */
export function seriesProblems(series: readonly Located[], exported: MetricCatalogue): string[] {
  const problems = unexportedNames(series, exported);
  for (const { expr } of series) {
    const [selector, ...rest] = selectorsOf(expr);
    if (selector === undefined || rest.length > 0) {
      problems.push(`input series ${expr}: expected one selector`);
      continue;
    }
    const labels = exported.get(selector.metric);
    if (labels === undefined) continue;
    const expected = [...labels.keys(), ...TARGET_LABELS].sort();
    const given = selector.matchers.map((m) => m.label).sort();
    if (given.join() !== expected.join()) problems.push(`input series ${expr}: labels ${given.join(', ')}; exported: ${expected.join(', ')}`);
  }
  return problems;
}

function matcherProblem(metric: string, { label, op, value }: Matcher, labels: ReadonlyMap<string, ReadonlySet<string>>): string | undefined {
  if (TARGET_LABELS.includes(label)) return undefined;
  const seen = labels.get(label);
  if (seen === undefined) return `${metric} has no label "${label}" (it has ${[...labels.keys()].join(', ') || 'none'})`;
  if (USER_VALUED.has(label)) return undefined;
  const values = [...seen];
  // without groups, a regex's top-level | separates alternatives: each must match something
  const alternatives = op.endsWith('~') && !/[()[\]{}]/.test(value) ? value.split('|') : [value];
  for (const alternative of alternatives) {
    const pattern = op.endsWith('~') ? new RegExp(`^(?:${alternative})$`) : undefined;
    const matches = pattern ? values.some((v) => pattern.test(v)) : values.includes(alternative);
    if (!matches) return `${metric}{${label}${op}"${value}"}: no exported ${label} matches "${alternative}" (exported: ${values.join(', ')})`;
  }
  return undefined;
}
