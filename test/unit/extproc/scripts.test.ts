// ScriptStore hot reload and the scripts' shared Lua state: a new version
// starts in a fresh state, streams in flight finish in the old one, and a
// version that does not compile leaves the last good one (and its globals)
// serving.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseConfig } from '../../../src/config/load.js';
import { ScriptStore } from '../../../src/extproc/scripts.js';
import type { PhaseStep } from '../../../src/lua/index.js';
import { tempDir } from '../../helpers/bundles.js';

/** A script that tags each request with its version and a per-state request count. */
const version = (v: string, padding = ''): string =>
  `${padding}requests = 0
function envoy_on_request(handle)
  requests = requests + 1
  local body = handle:headers():get("x-wait") and handle:body()
  handle:logInfo("${v}:" .. requests)
end
`;

function said(step: PhaseStep): string[] {
  return step.logs.map((l) => l.message);
}

t.test('a reload swaps new streams to the new version\'s fresh state; streams in flight finish in the old one', async (t) => {
  const dir = tempDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'count.lua');
  writeFileSync(file, version('v1'));
  const store = new ScriptStore(parseConfig(`extproc: {scripts: [{name: count, file: ${JSON.stringify(file)}}]}`, 'test.yaml').extproc);
  await store.reload();
  const run = (headers: Array<[string, string]> = []) => {
    const s = store.get('count')!.script.newStream();
    return { s, step: s.begin('request', [[':path', '/'], ...headers], { endOfStream: false }) };
  };
  const runDone = (): string[] => {
    const { s, step } = run();
    t.equal(step.kind, 'done');
    s.close();
    return said(step);
  };

  t.same([runDone(), runDone()], [['v1:1'], ['v1:2']], 'v1 counts in its shared state');
  const inFlight = run([['x-wait', '1']]);
  t.equal(inFlight.step.kind, 'needs_body');

  writeFileSync(file, version('v2', '-- version 2\n'));
  await store.reload();
  t.equal(store.counts.loads, 2);
  t.same([runDone(), runDone()], [['v2:1'], ['v2:2']], 'v2 starts in its own fresh state');
  t.same(said(inFlight.s.provideBody(Buffer.from('x'))), ['v1:3'], 'the stream in flight finished in v1\'s state');

  writeFileSync(file, 'function envoy_on_request(h) if then end\n');
  await store.reload();
  t.equal(store.counts.loadErrors, 1);
  t.same(runDone(), ['v2:3'], 'a version that does not compile leaves v2 and its globals serving');
});
