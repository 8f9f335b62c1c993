/**
 * The Prometheus rules and the Grafana dashboard, checked with Prometheus's own tools: promtool
 * (installed by scripts/install-promtool.sh when missing) parses the rules and runs their unit tests,
 * and parses every dashboard query. Metric names are checked against what a running API's GET /metrics
 * exposes (the whole stack, started here), so a renamed metric fails here instead of leaving a silent
 * alert or an empty panel, and a new mlops_ metric without a panel fails too.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApiStack, startApiStack } from './helpers/api-stack';

const ROOT = path.resolve(__dirname, '..');
const RULES = path.join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const RULE_TESTS = path.join(ROOT, 'deploy', 'prometheus', 'alerts_test.yml');
const DASHBOARD = path.join(ROOT, 'deploy', 'grafana', 'mlops-dashboard.json');

/**
 * The metric families of a Prometheus text exposition (from its # TYPE lines, which prom-client writes
 * for every registered metric, with or without series yet), and the series names each family has.
 */
function exposedMetrics(text: string): { families: Map<string, string>; series: Set<string> } {
  const families = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(m[1], m[2]);
  const series = new Set<string>();
  for (const [name, type] of families) {
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) series.add(name + suffix);
    else if (type === 'summary') for (const suffix of ['', '_sum', '_count']) series.add(name + suffix);
    else series.add(name);
  }
  return { families, series };
}

/** mlops_ metrics of the process rather than of a model (no model label). */
const WITHOUT_MODEL = new Set(['mlops_prediction_log_dropped', 'mlops_slack_refused_total']);

// Words in PromQL that look like names but are not metrics.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. Strings, label matchers, ranges and the label lists
 * of by/without/on/ignoring/group_* are blanked first; of the names left, those followed by "(" are
 * functions or aggregations, and those glued to a digit are parts of numbers or durations (5m, 1e3).
 */
function metricNames(expr: string): string[] {
  let s = expr.replace(/#.*$/gm, ' ');
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const at = m.index ?? 0;
    if (at > 0 && /[0-9.]/.test(s[at - 1])) continue;
    if (s.slice(at + m[0].length).trimStart().startsWith('(')) continue;
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return [...names];
}

interface RuleBlock { kind: 'alert' | 'record'; name: string; text: string; expr: string }

/**
 * The rules of alerts.yml, read as the file writes them (no YAML library in the project): each
 * `- alert:` / `- record:` item up to the next, and its `expr:` inline or as a `|` block. The test
 * checks that the count matches promtool's, so a rule this reader missed cannot go unchecked.
 */
function readRules(file: string): RuleBlock[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const rules: RuleBlock[] = [];
  let current: { kind: 'alert' | 'record'; name: string; lines: string[] } | undefined;
  const flush = () => { if (current) rules.push({ kind: current.kind, name: current.name, text: current.lines.join('\n'), expr: exprOf(current.lines) }); };
  for (const line of lines) {
    const start = /^\s*- (alert|record):\s*(\S+)\s*$/.exec(line);
    if (start) { flush(); current = { kind: start[1] as 'alert' | 'record', name: start[2], lines: [line] }; continue; }
    if (/^\s*- name:/.test(line)) { flush(); current = undefined; continue; }
    current?.lines.push(line);
  }
  flush();
  return rules;
}

function exprOf(lines: string[]): string {
  const i = lines.findIndex((l) => /^\s*expr:/.test(l));
  if (i < 0) return '';
  const inline = lines[i].replace(/^\s*expr:\s*/, '');
  if (!/^[|>][-+]?$/.test(inline)) return inline;
  const indent = lines[i].search(/\S/);
  const body: string[] = [];
  for (const l of lines.slice(i + 1)) {
    if (l.trim() !== '' && l.search(/\S/) <= indent) break;
    body.push(l);
  }
  return body.join('\n');
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows included) and query variables. */
function dashboardQueries(dashboard: any): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: any[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    // Grafana's label_values(<series selector>, <label>): the selector is PromQL.
    const lv = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(q ?? '');
    out.push({ where: `variable $${v.name}`, expr: lv ? lv[1] : q });
  }
  return out;
}

function run(cmd: string, args: string[], cwd = ROOT) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

describe('metric name extraction', () => {
  it('finds selected metrics and skips functions, labels, strings, numbers and durations', () => {
    assert.deepEqual(metricNames('sum by (model, le) (rate(mlops_predict_latency_seconds_bucket{model=~"$model"}[$__rate_interval]))'), ['mlops_predict_latency_seconds_bucket']);
    assert.deepEqual(metricNames('a:b:rate5m > 0.05 and on (model, version) sum without (instance) (increase(x_total[5m] offset 1h)) >= 1e3'), ['a:b:rate5m', 'x_total']);
    assert.deepEqual(metricNames('time() - max(up{job="by (x)"}) # a comment naming not_a_metric'), ['up']);
    assert.deepEqual(metricNames('a / on (m) group_left (version) b unless bool c'), ['a', 'b', 'c']);
  });
});

describe('Prometheus rules and the Grafana dashboard', () => {
  let promtool: string;
  let stack: ApiStack;
  /** Metric families the API exposes (name -> type), and every series name they give, with the recording rules' names. */
  let exposed: Map<string, string>;
  let known: Set<string>;
  const rules = readRules(RULES);
  const recorded = rules.filter((r) => r.kind === 'record').map((r) => r.name);
  const alerts = rules.filter((r) => r.kind === 'alert');

  before(async () => {
    // The script prints the binary's path on stdout; its progress goes to stderr, shown in the test output.
    promtool = execFileSync('bash', [path.join(ROOT, 'scripts', 'install-promtool.sh')], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 }).trim();
    assert.ok(fs.existsSync(promtool), `install-promtool.sh printed ${JSON.stringify(promtool)}`);
    // what Prometheus scrapes: GET /metrics of an API started as `mlops up` starts it
    stack = await startApiStack({ env: { MLOPS_TASK_QUEUE: 'prometheus-rules' } });
    const scraped = await stack.call('GET', '/metrics', undefined, { anonymous: true });
    assert.equal(scraped.status, 200);
    const metrics = exposedMetrics(String(scraped.body));
    exposed = metrics.families;
    known = new Set([...metrics.series, ...recorded]);
  });
  after(async () => { await stack?.close(); });

  it('reads the metric families of the API\'s exposition', () => {
    // the serving metrics, the monitoring gauges and the process's default metrics are all registered
    for (const [name, type] of [['mlops_predict_requests_total', 'counter'], ['mlops_predict_latency_seconds', 'histogram'], ['mlops_drift_share', 'gauge'], ['nodejs_eventloop_lag_p99_seconds', 'gauge']]) {
      assert.equal(exposed.get(name), type, name);
    }
    assert.ok(known.has('mlops_predict_latency_seconds_bucket') && !known.has('mlops_predict_latency_seconds'), 'a histogram is scraped as its _bucket, _sum and _count series');
  });

  it('promtool accepts the rules file, with every rule this test reads', () => {
    const r = run(promtool, ['check', 'rules', RULES]);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, new RegExp(`SUCCESS: ${rules.length} rules found`), r.output);
    assert.ok(alerts.length >= 7 && recorded.length >= 1, `alerts: ${alerts.length}, recording rules: ${recorded.length}`);
  });

  it('the rules pass their unit tests', () => {
    const r = run(promtool, ['test', 'rules', RULE_TESTS], path.dirname(RULE_TESTS));
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /SUCCESS/);
  });

  it('every alert waits with for:, carries a severity and a summary and description, and has a test that sees it fire', () => {
    const tests = fs.readFileSync(RULE_TESTS, 'utf8');
    const firing = new Set([...tests.matchAll(/alertname:\s*(\w+)\s*\n\s*exp_alerts:(?!\s*\[\])/g)].map((m) => m[1]));
    const quiet = new Set([...tests.matchAll(/alertname:\s*(\w+)\s*\n\s*exp_alerts:\s*\[\]/g)].map((m) => m[1]));
    for (const a of alerts) {
      assert.match(a.text, /\n\s+for: \d+[smh]/, `${a.name} has no for:`);
      assert.match(a.text, /\n\s+severity: (info|warning|critical)\s*\n/, `${a.name} has no severity label`);
      assert.match(a.text, /\n\s+summary: .*\$value/, `${a.name}'s summary does not show the value`);
      assert.match(a.text, /\n\s+description: /, `${a.name} has no description`);
      assert.ok(firing.has(a.name), `no unit test sees ${a.name} fire`);
      assert.ok(quiet.has(a.name), `no unit test sees ${a.name} stay quiet`);
    }
  });

  it('rules and their test series use only metric names the API exports', () => {
    for (const r of rules) {
      assert.ok(r.expr.trim(), `${r.name} has no expression`);
      const names = metricNames(r.expr);
      assert.ok(names.length > 0, `${r.name}: no metric found in ${r.expr}`);
      assert.deepEqual(names.filter((n) => !known.has(n)), [], `${r.name} selects unknown metrics`);
    }
    const series = [...fs.readFileSync(RULE_TESTS, 'utf8').matchAll(/series:\s*'([A-Za-z_:][A-Za-z0-9_:]*)\{/g)].map((m) => m[1]);
    assert.ok(series.length > 10);
    assert.deepEqual([...new Set(series.filter((n) => !known.has(n)))], [], 'the rule tests feed series the API does not export');
  });

  it('the dashboard has a model variable, every query parses and uses only exported metrics, and every metric is shown', () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8'));
    assert.ok(dashboard.uid && dashboard.title);
    const vars = (dashboard.templating?.list ?? []).map((v: { name: string }) => v.name);
    assert.ok(vars.includes('model') && vars.includes('datasource'), `variables: ${vars}`);
    const queries = dashboardQueries(dashboard);
    assert.ok(queries.length >= 12, `only ${queries.length} queries`);
    const seen = new Set<string>();
    for (const q of queries) {
      const names = metricNames(q.expr);
      assert.ok(names.length > 0, `${q.where}: no metric in ${q.expr}`);
      // the workers' Temporal SDK metrics are checked against a worker's own scrape, after pipelines ran (test/telemetry.test.ts)
      if (names.every((n) => n.startsWith('temporal_'))) continue;
      assert.deepEqual(names.filter((n) => !known.has(n)), [], `${q.where} selects unknown metrics: ${q.expr}`);
      names.forEach((n) => seen.add(n.replace(/_(bucket|sum|count)$/, '')));
      // Every per-model metric follows the model picker; the prediction log counter, refused Slack requests and the process's own metrics have no model label.
      if (q.where.startsWith('panel') && !names.some((n) => WITHOUT_MODEL.has(n) || n.startsWith('nodejs_'))) assert.match(q.expr, /model=~"\$model"/, `${q.where} ignores $model`);
    }
    const ours = [...exposed.keys()].filter((m) => m.startsWith('mlops_'));
    assert.ok(ours.length >= 10, `mlops_ metrics: ${ours.join(', ')}`);
    assert.deepEqual(ours.filter((m) => !seen.has(m)), [], 'metrics the API exposes without a panel');

    // promtool parses each query as a recording rule; Grafana's interval variables become durations.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-dashboard-'));
    try {
      const file = path.join(dir, 'dashboard-queries.yml');
      const asRules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m') }));
      fs.writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: asRules }] })); // JSON is YAML
      const r = run(promtool, ['check', 'rules', file]);
      assert.equal(r.status, 0, r.output);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
