/**
 * The operations kit (docs/grafana/nestjs-breaker.json, docs/prometheus/alerts.yml) and the
 * PromQL examples of README.md and docs/*.md against the real thing: every PromQL expression parses (promtool), names only metrics, labels and label
 * values that a real application serves on /metrics, and the alerts fire when they should
 * (promtool test rules). Needs promtool (Debian package prometheus): without it the promtool
 * tests fail with one sentence saying so.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CIRCUIT_BREAKER_METRIC_NAMES } from '../../lib/prometheus/index.js';
import { scrapeRealApplication } from './exported-metrics.js';
import type { Scrape } from './exported-metrics.js';
import { seriesProblems, unexportedNames } from './exported-names-check.js';
import {
  ALERT_TESTS_FILE,
  ALERTS_FILE,
  DASHBOARD_FILE,
  DOCUMENTATION_FILES,
  ROOT,
  alertNames,
  dashboardExpressions,
  inputSeries,
  markdownPromql,
  panelsOf,
  ruleExpressions,
} from './kit-files.js';
import type { GrafanaDashboard, Located } from './kit-files.js';
import { selectorsOf } from './promql.js';
import { promtool } from './promtool.js';

/** What Grafana would put in for the dashboard's own variables ("All" selected, no prefix). */
const VARIABLES = { prefix: '', job: '.*', instance: '.*', name: '.*' };
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

let scrape: Scrape;
let dashboard: GrafanaDashboard;
let alertsYaml: string;
let alertTestsYaml: string;
let scratch: string;

beforeAll(async () => {
  scrape = await scrapeRealApplication();
  dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as GrafanaDashboard;
  alertsYaml = await readFile(ALERTS_FILE, 'utf8');
  alertTestsYaml = await readFile(ALERT_TESTS_FILE, 'utf8');
  scratch = await mkdtemp(join(tmpdir(), 'nestjs-breaker-ops-kit-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** promtool check rules on recording rules made of `expressions`; JSON is YAML to promtool. */
async function checkParses(expressions: readonly Located[], file: string) {
  const rules = expressions.map(({ expr }, i) => ({ record: `ops_kit:expression_${i}`, expr }));
  const path = join(scratch, file);
  await writeFile(path, JSON.stringify({ groups: [{ name: 'ops-kit', rules }] }, null, 2));
  const result = await promtool(['check', 'rules', path]);
  const legend = expressions.map(({ where, expr }, i) => `ops_kit:expression_${i} = ${where}: ${expr}`).join('\n');
  return { ...result, legend };
}

describe('the real application the checks compare with', () => {
  it('exports every metric of CIRCUIT_BREAKER_METRIC_NAMES, every state and outcome, the rule transitions and store series', () => {
    expect([...scrape.families.keys()].sort()).toEqual(Object.values(CIRCUIT_BREAKER_METRIC_NAMES).sort());
    const values = (sample: string, label: string) => [...(scrape.samples.get(`circuit_breaker_${sample}`)?.get(label) ?? [])].sort();
    expect(values('state', 'state')).toEqual(['closed', 'disabled', 'forced_open', 'half_open', 'metrics_only', 'open']);
    expect(values('calls_total', 'kind')).toEqual(['failed', 'ignored', 'not_permitted', 'successful', 'timeout']);
    expect(values('transitions_total', 'from')).toEqual(expect.arrayContaining(['closed', 'open', 'half_open', 'forced_open']));
    expect(values('transitions_total', 'to')).toEqual(expect.arrayContaining(['open', 'half_open', 'closed', 'disabled', 'metrics_only']));
    expect(values('store_shared', 'name')).toEqual(['ledger']);
    expect(values('slow_call_rate_threshold', 'name')).toEqual(['payments']);
    for (const suffix of ['_bucket', '_sum', '_count']) expect(scrape.samples.has(`circuit_breaker_open_duration_seconds${suffix}`)).toBe(true);
    expect(scrape.text).toMatch(/^circuit_breaker_would_trips_total\{name="search"\} 1$/m);
    expect(scrape.text).toMatch(/^circuit_breaker_store_fallbacks_total\{name="ledger"\} 1$/m);
  });

  it('passes promtool check metrics (Prometheus naming conventions)', async () => {
    const result = await promtool(['check', 'metrics'], scrape.text);
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('docs/grafana/nestjs-breaker.json', () => {
  it('is an importable dashboard: current schema, every query on the ${datasource} Prometheus variable, job / instance / name variables', () => {
    expect(dashboard.schemaVersion).toBe(42);
    expect(dashboard.uid).toBe('nestjs-breaker');
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance', 'name']) {
      expect(variables.get(name)).toMatchObject({ type: 'query', datasource: DATASOURCE, includeAll: true, multi: true, allValue: '.*' });
    }
    const panels = panelsOf(dashboard);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const panel of panels.filter((p) => p.type !== 'row')) {
      expect({ title: panel.title, datasource: panel.datasource }).toEqual({ title: panel.title, datasource: DATASOURCE });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect({ title: panel.title, datasource: target.datasource }).toEqual({ title: panel.title, datasource: DATASOURCE });
    }
  });

  it('lays its panels out on the 24-column grid without overlaps', () => {
    const cells = new Map<string, string>();
    for (const panel of panelsOf(dashboard)) {
      const { x, y, w, h } = panel.gridPos;
      expect({ title: panel.title, fits: x >= 0 && w > 0 && x + w <= 24 && h > 0 }).toEqual({ title: panel.title, fits: true });
      for (let row = y; row < y + h; row++) {
        for (let col = x; col < x + w; col++) {
          const taken = cells.get(`${row},${col}`);
          if (taken !== undefined) throw new Error(`"${panel.title}" overlaps "${taken}" at row ${row}, column ${col}`);
          cells.set(`${row},${col}`, panel.title);
        }
      }
    }
  });

  it('has only PromQL that parses (promtool check rules, Grafana variables substituted)', async () => {
    const expressions = dashboardExpressions(dashboard, VARIABLES);
    const result = await checkParses(expressions, 'dashboard-rules.json');
    expect(`${result.output}\n${result.legend}`).toContain(`SUCCESS: ${expressions.length} rules found`);
    expect(result.code).toBe(0);
  });

  it('names only exported metrics, labels and label values, and shows every exported metric', () => {
    const expressions = dashboardExpressions(dashboard, VARIABLES);
    expect(unexportedNames(expressions, scrape.samples)).toEqual([]);
    for (const { where, expr, label } of expressions) {
      if (label === undefined) continue;
      const [selector] = selectorsOf(expr);
      expect({ where, label, exported: scrape.samples.get(selector!.metric)?.has(label) === true || label === 'job' || label === 'instance' }).toEqual({
        where,
        label,
        exported: true,
      });
    }
    // every metric family is on the dashboard (a new metric needs a panel)
    const used = new Set(expressions.flatMap(({ expr }) => selectorsOf(expr).map((s) => s.metric.replace(/_(bucket|sum|count)$/, ''))));
    expect([...scrape.families.keys()].filter((family) => !used.has(family))).toEqual([]);
  });

  it('applies the prefix variable to every metric name', () => {
    const expressions = dashboardExpressions(dashboard, { ...VARIABLES, prefix: 'shop_' });
    const unprefixed = expressions.flatMap(({ where, expr }) => selectorsOf(expr).filter((s) => !s.metric.startsWith('shop_circuit_breaker_')).map((s) => `${where}: ${s.metric}`));
    expect(unprefixed).toEqual([]);
  });
});

describe('docs/prometheus/alerts.yml', () => {
  it('passes promtool check rules, with every rule read by this check', async () => {
    const result = await promtool(['check', 'rules', ALERTS_FILE]);
    expect(result.output).toContain(`SUCCESS: ${ruleExpressions(alertsYaml).length} rules found`);
    expect(result.code).toBe(0);
  });

  it('names only exported metrics, labels and label values', () => {
    expect(unexportedNames(ruleExpressions(alertsYaml), scrape.samples)).toEqual([]);
  });

  it('fires when it should and stays quiet when it should not (promtool test rules)', async () => {
    const result = await promtool(['test', 'rules', ALERT_TESTS_FILE]);
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  it('has a unit test in which each alert fires, fed with series labelled exactly as the library exports them', () => {
    const firing = [...alertTestsYaml.matchAll(/alertname: (\S+)\n\s+exp_alerts:\n\s+- exp_labels:/g)].map((m) => m[1]!);
    expect(alertNames(alertsYaml).filter((name) => !firing.includes(name))).toEqual([]);
    expect(seriesProblems(inputSeries(alertTestsYaml), scrape.samples)).toEqual([]);
  });
});

describe('the PromQL examples of README.md and docs/*.md', () => {
  it('parse and name only exported metrics, labels and label values', async () => {
    const examples = (await Promise.all(DOCUMENTATION_FILES.map(async (file) => markdownPromql(await readFile(join(ROOT, file), 'utf8'), file)))).flat();
    expect(examples.length).toBeGreaterThan(0);
    const result = await checkParses(examples, 'documentation-rules.json');
    expect(`${result.output}\n${result.legend}`).toContain(`SUCCESS: ${examples.length} rules found`);
    expect(unexportedNames(examples, scrape.samples)).toEqual([]);
  });
});

describe('the checks themselves', () => {
  it('report an unexported metric, label or label value, and an expression that does not parse', async () => {
    const wrong: Located[] = [
      { where: 'a', expr: 'rate(circuit_breaker_call_total[5m])' },
      { where: 'b', expr: 'sum by (name) (circuit_breaker_calls_total{kind="success"})' },
      { where: 'c', expr: 'circuit_breaker_state{state=~"open|halfopen"} == 1' },
      { where: 'd', expr: 'circuit_breaker_failure_rate{outcome="failed"} > on (name) group_left circuit_breaker_failure_rate_threshold' },
    ];
    expect(unexportedNames(wrong, scrape.samples)).toEqual([
      'a: metric "circuit_breaker_call_total" is not exported',
      'b: circuit_breaker_calls_total{kind="success"}: no exported kind matches "success" (exported: successful, failed, ignored, not_permitted, timeout)',
      'c: circuit_breaker_state{state=~"open|halfopen"}: no exported state matches "halfopen" (exported: closed, open, half_open, forced_open, disabled, metrics_only)',
      'd: circuit_breaker_failure_rate has no label "outcome" (it has name)',
    ]);
    expect(seriesProblems([{ where: 's', expr: 'circuit_breaker_state{name="payments", state="open"}' }], scrape.samples)).toEqual([
      'input series circuit_breaker_state{name="payments", state="open"}: labels name, state; exported: instance, job, name, state',
    ]);

    const unparsable = await checkParses([{ where: 'x', expr: 'sum(rate(circuit_breaker_calls_total[5m])' }], 'unparsable.json');
    expect(unparsable.code).not.toBe(0);
    expect(unparsable.output).toMatch(/parse error|unclosed/i);
  });
});
