// deploy/observability: the Grafana dashboard and the PrometheusRule. Every
// PromQL expression in them names series (and labels) that a real `iacdash
// serve` exports after ext_authz and ext_proc traffic; the rules pass
// `promtool check rules` and `promtool test rules`; the scrape passes
// `promtool check metrics`; the manifests validate and kustomize builds them.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { toolPath } from '../../src/tools/locate.js';
import { buildBundle, tempDir } from '../helpers/bundles.js';
import { authzClient, check } from '../helpers/grpc.js';
import { startSidecar } from '../helpers/sidecar.js';
import { exchange, headerMap } from '../unit/telemetry/extproc-client.js';
import { DEPLOY, helmTemplate, loadManifests, only, parseManifests, validateObject } from './harness.js';
import { exposedSeries, groupingLabels, matcherLabels, seriesNames } from './promql.js';

const DIR = join(DEPLOY, 'observability');
const dashboard = JSON.parse(readFileSync(join(DIR, 'grafana-dashboard.json'), 'utf8'));
const rule = only(loadManifests(join(DIR, 'prometheus-rules.yaml')), 'PrometheusRule');
const groups: Array<{ name: string; rules: Array<{ record?: string; alert?: string; expr: string; labels?: Record<string, string> }> }> = rule.spec.groups;
const rules = groups.flatMap((g) => g.rules);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));

/** Labels Prometheus adds when a ServiceMonitor scrapes a pod (prometheus-operator's target labels). */
const TARGET_LABELS = new Set(['namespace', 'service', 'pod', 'container', 'endpoint', 'job', 'instance']);

interface Query {
  where: string;
  expr: string;
}
const dashboardQueries: Query[] = (dashboard.panels as any[]).flatMap((p) =>
  (p.targets ?? []).map((target: any) => ({ where: `dashboard panel "${p.title}" ${target.refId}`, expr: target.expr as string })),
);
const ruleQueries: Query[] = rules.map((r) => ({ where: `rule ${r.record ?? r.alert}`, expr: r.expr }));
const variableQueries: Query[] = (dashboard.templating.list as any[])
  .filter((v) => v.type === 'query')
  .map((v) => ({ where: `dashboard variable ${v.name}`, expr: String(v.query.query).replace(/^label_values\((.*),\s*\w+\)$/, '$1') }));

function promtool(args: string[], input?: string): { code: number | null; output: string } {
  const r = spawnSync(toolPath('promtool'), args, { encoding: 'utf8', input, cwd: DIR });
  if (r.error) throw r.error;
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** The PrometheusRule's groups as a plain rules file, as Prometheus and promtool read it. */
function rulesFile(): string {
  const file = join(tempDir(), 'iacdash-rules.yaml');
  writeFileSync(file, stringify({ groups }));
  return file;
}

t.test('the PromQL reader: names, matcher labels and groupings', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['rate(iacdash_requests_total{service="authz"}[5m])', ['iacdash_requests_total']],
    ['histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job"}[$__rate_interval])))', ['a_bucket']],
    ['sum(rate(x_total[5m])) / sum without (pod) (rate(y_total[5m] offset 1h)) > 1e3', ['x_total', 'y_total']],
    ['a:b:rate5m{outcome!~"allowed|denied"} > bool 0.5 and on (job) c unless ignoring(pod) d', ['a:b:rate5m', 'c', 'd']],
    ['max by (pod, revision) (iacdash_bundle_info{namespace=~"${namespace}"})', ['iacdash_bundle_info']],
    ['label_replace(up, "dst", "$1", "src", "(.*)")', ['up']],
  ];
  for (const [expr, names] of cases) t.same(seriesNames(expr), names, expr);
  t.same([...(matcherLabels('a{x="1", y=~"z"} + b{}').get('a') ?? [])], ['x', 'y']);
  t.same(groupingLabels('sum by (le, job) (a) / on(job) group_left(pod) b'), ['le', 'job', 'pod']);
});

t.test('the manifests validate; kustomize ships the dashboard to Grafana\'s sidecar', async (t) => {
  t.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
  const r = spawnSync(toolPath('kustomize'), ['build', DIR], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const objects = parseManifests(r.stdout, 'kustomize build deploy/observability');
  for (const o of objects) validateObject(o, 'kustomize build deploy/observability');
  const cm = only(objects, 'ConfigMap', 'iacdash-grafana-dashboard');
  t.equal(cm.metadata.labels?.['grafana_dashboard' as never], '1', 'the label Grafana\'s dashboard sidecar watches');
  t.same(JSON.parse(cm.data['iacdash.json']), dashboard, 'the ConfigMap carries the dashboard as it is in git');
  t.same(only(objects, 'PrometheusRule').spec, rule.spec);

  const broken = structuredClone(rule);
  broken.spec.groups[0].rules[0].for = 10;
  t.throws(() => validateObject(broken, 'mutated'), /for/, 'the schema check can fail');
});

t.test('the dashboard is well-formed: unique ids, every query on the Prometheus variable', async (t) => {
  const ids = (dashboard.panels as any[]).map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const variables = new Set((dashboard.templating.list as any[]).map((v) => v.name));
  t.same([...variables].sort(), ['datasource', 'job', 'namespace']);
  for (const p of dashboard.panels as any[]) {
    t.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the 24-column grid`);
    if (p.type === 'row') continue;
    t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: datasource`);
    t.ok(p.targets.length > 0, `${p.title}: has queries`);
    const refIds = p.targets.map((x: any) => x.refId);
    t.equal(new Set(refIds).size, refIds.length, `${p.title}: refIds are unique`);
    const used = p.targets.flatMap((x: any) => [...String(x.expr).matchAll(/\$\{?(\w+)/g)].map((v) => v[1]!));
    t.same(used.filter((v: string) => v !== '__rate_interval' && !variables.has(v)), [], `${p.title}: every variable is defined`);
  }
  // The list: each of these is on the dashboard.
  const all = dashboardQueries.map((q) => q.expr).join('\n');
  for (const needed of [
    'iacdash_requests_total', 'iacdash_check_duration_seconds_bucket', 'iacdash_decision_evaluation_duration_seconds_bucket',
    'iacdash_extproc_message_duration_seconds_bucket', 'iacdash_bundle_loads_total', 'iacdash_bundle_info', 'iacdash_script_loads_total',
    'iacdash_lua_errors_total', 'iacdash_failure_mode_activations_total', 'iacdash_decision_logs_dropped_total', 'histogram_quantile(0.99',
  ]) {
    t.ok(all.includes(needed), `the dashboard shows ${needed}`);
  }
});

t.test('every name in the dashboard and the rules is exported by a running sidecar that served ext_authz and ext_proc', async (t) => {
  const dir = tempDir();
  const bundle = buildBundle('basic', join(dir, 'bundle.tar.gz'), { revision: 'dash-1' });
  const script = join(dir, 'tag.lua');
  writeFileSync(script, 'function envoy_on_request(handle)\n  handle:headers():add("x-tagged", "1")\nend\n');
  const sidecar = await startSidecar(stringify({
    bundle: { path: bundle },
    extproc: { scripts: [{ name: 'tag', file: script }] },
    decision_logs: { enabled: true, sink: 'file', file: join(dir, 'decisions.log') },
  }));
  t.teardown(() => sidecar.stop());
  const client = authzClient(sidecar.grpcPort);
  t.teardown(() => client.close());
  const http = (path: string) => ({ attributes: { request: { http: { method: 'GET', path, headers: {} } } } });
  t.equal((await check(client, http('/x'))).response.status.code, 0, 'allowed');
  t.equal((await check(client, http('/deny'))).response.status.code, 7, 'denied');
  const answers = await exchange(sidecar.grpcPort, [
    { requestHeaders: { headers: headerMap({ ':authority': 'example.com', ':path': '/', ':method': 'GET' }), endOfStream: true } },
  ]);
  t.ok(answers[0]?.requestHeaders, 'ext_proc answered the headers');

  const res = await fetch(`http://127.0.0.1:${sidecar.httpPort}/metrics`);
  const text = await res.text();
  const exposed = exposedSeries(text);
  t.ok(exposed.has('iacdash_extproc_message_duration_seconds_bucket'), 'ext_proc traffic is in the scrape');

  for (const { where, expr } of [...dashboardQueries, ...ruleQueries, ...variableQueries]) {
    const names = seriesNames(expr);
    t.ok(names.length > 0, `${where}: selects something`);
    const labelsInExpr = new Set<string>(['le', ...TARGET_LABELS]);
    for (const name of names) {
      if (name.includes(':')) {
        t.ok(recorded.has(name), `${where}: ${name} is recorded by the rules`);
        continue;
      }
      t.ok(exposed.has(name), `${where}: ${name} is exported`);
      for (const l of exposed.get(name) ?? []) labelsInExpr.add(l);
      for (const l of matcherLabels(expr).get(name) ?? []) {
        t.ok(exposed.get(name)?.has(l) || TARGET_LABELS.has(l), `${where}: ${name} has label ${l}`);
      }
    }
    // A grouping over recorded series keeps the labels their rules grouped by.
    for (const name of names.filter((n) => n.includes(':'))) {
      for (const l of groupingLabels(rules.find((r) => r.record === name)!.expr)) labelsInExpr.add(l);
    }
    for (const l of groupingLabels(expr)) t.ok(labelsInExpr.has(l), `${where}: grouping label ${l} exists`);
  }
  t.notOk(exposed.has('iacdash_request_total'), 'a misspelt name would be caught');

  // A metric label that is also a target label is renamed exported_LABEL unless the scrape honors it.
  const clashing = [...exposed].filter(([name]) => name.startsWith('iacdash_')).flatMap(([, labels]) => [...labels].filter((l) => TARGET_LABELS.has(l)));
  t.same([...new Set(clashing)], ['service'], 'iacdash_requests_total{service} clashes with the operator\'s target label');
  const monitor = only(helmTemplate(['--set-file', `bundle.file=${bundle}`, '--set', 'serviceMonitor.enabled=true']), 'ServiceMonitor');
  t.equal(monitor.spec.endpoints[0].honorLabels, true, 'so the chart\'s ServiceMonitor honors the scraped labels');

  // The whole scrape parses; iacdash's own families pass every lint.
  const parsed = promtool(['check', 'metrics', '--extended', '--lint=none'], text);
  t.equal(parsed.code, 0, `promtool check metrics --extended: ${parsed.output}`);
  t.match(parsed.output, /iacdash_requests_total\s+\d+/);
  const ours = text.split('\n').filter((l) => /^(# (HELP|TYPE) )?iacdash_/.test(l)).join('\n') + '\n';
  const lint = promtool(['check', 'metrics'], ours);
  t.equal(lint.code, 0, `promtool check metrics (iacdash_*): ${lint.output}`);
  // prom-client's own gauges named *_total are the only complaints in the full scrape.
  const all = promtool(['check', 'metrics'], text);
  const complaints = all.output.split('\n').filter((l) => l.trim() !== '');
  t.same(
    complaints.filter((l) => !/^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/.test(l)),
    [],
    'no lint complaint besides prom-client\'s nodejs_active_*_total gauges',
  );
});

t.test('the rules pass promtool check rules, and their unit tests pass promtool test rules', async (t) => {
  const file = rulesFile();
  const checked = promtool(['check', 'rules', file]);
  t.equal(checked.code, 0, checked.output);
  t.match(checked.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
  for (const r of rules.filter((x) => x.alert)) t.ok(['warning', 'critical'].includes(r.labels?.['severity'] ?? ''), `${r.alert}: severity`);

  const tests = join(tempDir(), 'iacdash-rules.test.yaml');
  writeFileSync(tests, readFileSync(join(import.meta.dirname, 'fixtures', 'rules.promtool.yaml'), 'utf8').replace('- RULES_FILE', `- ${file}`));
  const tested = promtool(['test', 'rules', tests]);
  t.equal(tested.code, 0, tested.output);
  t.match(tested.output, /SUCCESS/);

  // A broken expression is refused, so the check above can fail.
  const bad = join(tempDir(), 'bad.yaml');
  writeFileSync(bad, stringify({ groups: [{ name: 'x', rules: [{ alert: 'X', expr: 'sum by (job (rate(iacdash_requests_total[5m]))' }] }] }));
  t.not(promtool(['check', 'rules', bad]).code, 0);
});
