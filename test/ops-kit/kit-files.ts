/**
 * Reads the operations kit's files: the PromQL of the Grafana dashboard (with Grafana's variables
 * substituted) and of the Prometheus rule file, and the input series of the rule unit tests.
 * The YAML files are read line by line, for the few keys needed (the project has no YAML parser);
 * the spec cross-checks the counts with promtool's, so a rule this reader misses fails the check.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const DASHBOARD_FILE = join(ROOT, 'docs/grafana/nestjs-breaker.json');
export const ALERTS_FILE = join(ROOT, 'docs/prometheus/alerts.yml');
export const ALERT_TESTS_FILE = join(ROOT, 'test/ops-kit/alerts.test.yml');
/** README.md and docs/*.md: where PromQL examples for users live. */
export const DOCUMENTATION_FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** One PromQL expression and where it comes from, for messages. */
export interface Located {
  readonly where: string;
  readonly expr: string;
}

export interface GrafanaTarget {
  refId: string;
  expr: string;
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}

export interface GrafanaVariable {
  type: string;
  name: string;
  query?: string | { query: string };
  definition?: string;
  datasource?: { type?: string; uid?: string };
  includeAll?: boolean;
  multi?: boolean;
  allValue?: string;
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

/** Every panel, rows' nested panels included. */
export function panelsOf(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Grafana's built-in interval variables, as Grafana would fill them in for a 6-hour range. */
const BUILT_INS: Readonly<Record<string, string>> = { __rate_interval: '5m', __interval: '1m', __range: '6h' };

/**
 * Replaces `$var`, `${var}`, `${var:format}` and `[[var]]` with `values` (then Grafana's built-ins);
 * a variable in neither is an error, so a typo cannot hide.
 */
export function substitute(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const value = values[name] ?? BUILT_INS[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in ${expr}`);
    return value;
  });
}

/** The PromQL of every panel target and of every `label_values(selector, label)` variable query. */
export function dashboardExpressions(dashboard: GrafanaDashboard, values: Readonly<Record<string, string>>): (Located & { label?: string })[] {
  const out: (Located & { label?: string })[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of panel.targets ?? []) {
      out.push({ where: `panel ${panel.id} "${panel.title}" target ${target.refId}`, expr: substitute(target.expr, values) });
    }
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query ?? '';
    const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(query);
    if (!m) throw new Error(`variable "${variable.name}": expected label_values(selector, label), got ${query}`);
    out.push({ where: `variable "${variable.name}"`, expr: substitute(m[1]!, values), label: m[2]! });
  }
  return out;
}

/** `- alert: Name` entries, in order. */
export function alertNames(rulesYaml: string): string[] {
  return [...rulesYaml.matchAll(/^\s*- alert:\s*(\S+)\s*$/gm)].map((m) => m[1]!);
}

/** Every `expr:` of a rule file, inline or as a block scalar (`expr: |`). */
export function ruleExpressions(rulesYaml: string): Located[] {
  const lines = rulesYaml.split('\n');
  const out: Located[] = [];
  let alert = '?';
  for (let i = 0; i < lines.length; i++) {
    const named = /^\s*- (?:alert|record):\s*(\S+)/.exec(lines[i]!);
    if (named) alert = named[1]!;
    const m = /^(\s*)(?:- )?expr:\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    const indent = m[1]!.length;
    let expr = m[2]!.trim();
    if (/^[|>][+-]?$/.test(expr)) {
      const block: string[] = [];
      while (i + 1 < lines.length && (lines[i + 1]!.trim() === '' || lines[i + 1]!.search(/\S/) > indent)) block.push(lines[++i]!.trim());
      expr = block.join('\n').trim();
    } else if (/^'.*'$/.test(expr)) {
      expr = expr.slice(1, -1).replace(/''/g, "'");
    } else if (/^".*"$/.test(expr)) {
      expr = JSON.parse(expr) as string;
    }
    out.push({ where: `alert ${alert}`, expr });
  }
  return out;
}

/** The `series:` strings of a promtool rule-test file. */
export function inputSeries(testsYaml: string): Located[] {
  const lines = testsYaml.split('\n').filter((line) => /^\s*- series:/.test(line));
  return lines.map((line) => {
    const m = /^\s*- series:\s*'(.*)'\s*$/.exec(line);
    if (!m) throw new Error(`write input series in single quotes: ${line.trim()}`);
    return { where: 'input series', expr: m[1]! };
  });
}

/**
 * The expressions of the ```promql blocks of a Markdown file. One per line; a line that starts with
 * a space or a binary operator continues the expression above it.
 */
export function markdownPromql(markdown: string, file: string): Located[] {
  const out: Located[] = [];
  for (const block of markdown.matchAll(/^```promql\n([\s\S]*?)^```$/gm)) {
    const exprs: string[] = [];
    for (const line of block[1]!.split('\n')) {
      if (line.trim() === '') continue;
      if (exprs.length > 0 && /^(\s|[/*+\-^%]|and |or |unless )/.test(line)) exprs[exprs.length - 1] += `\n${line}`;
      else exprs.push(line);
    }
    for (const expr of exprs) out.push({ where: `${file} example`, expr: expr.trim() });
  }
  return out;
}
