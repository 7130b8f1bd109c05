// Fixtures drive the shipped filters through the local host: each file under
// fixtures/<filter>/ is one request (or one refused configuration) and the
// effects it must have.
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { ensureFilter } from '../../../wasm-filters/build.mjs';
import { parseFixture, runFixture } from '../../../src/wasm-host/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

for (const filter of ['custom-auth', 'request-logger']) {
  t.test(`${filter} fixtures`, async (t) => {
    const module = await readFile((await ensureFilter(filter)).path);
    const files = (await readdir(join(FIXTURES, filter))).filter((f) => f.endsWith('.json')).sort();
    t.ok(files.length >= 6, `${files.length} fixtures`);
    for (const file of files) {
      const fixture = parseFixture(JSON.parse(await readFile(join(FIXTURES, filter, file), 'utf8')), file);
      const result = await runFixture({ rootId: filter, ...fixture }, module);
      t.same(result.failures, [], `${file}: ${fixture.name ?? ''}`);
      if (fixture.expect.startError === undefined) t.notOk(result.exchange?.failure, `${file}: the filter does not trap`);
    }
  });
}

t.test('a fixture whose expectations are wrong reports each one', async (t) => {
  const module = await readFile((await ensureFilter('custom-auth')).path);
  const fixture = parseFixture({
    configuration: { apiKeys: { keys: [{ key: 'k-1', subject: 'svc' }] } },
    request: { path: '/x' },
    expect: {
      status: 200,
      headers: { 'content-type': 'text/plain', 'www-authenticate': null },
      body: { error: 'nope' },
      localReply: false,
      upstream: { reached: true },
      logs: ['no such line'],
      metrics: { 'custom_auth.allowed': 1, 'no.such.metric': 1 },
      trap: true,
    },
  });
  const { failures } = await runFixture(fixture, module);
  t.same(failures, [
    'status: expected 200, got 401',
    'response header content-type: expected "text/plain", got "application/json"',
    'response header www-authenticate: expected absent, got "Bearer realm=\\"iacdash\\""',
    'body: expected JSON {"error":"nope"}, got "{\\"error\\":\\"unauthenticated\\",\\"reason\\":\\"missing credentials\\"}"',
    'localReply: expected false, got source local',
    'upstream.reached: expected true, got false',
    'logs: no line "no such line" (in order) among ["[info] custom-auth: deny status=401 reason=\\"missing credentials\\" path=/x"]',
    'metric custom_auth.allowed: expected 1, got 0',
    'metric no.such.metric: not defined',
    'trap: expected true, got none',
  ]);
  const started = await runFixture(parseFixture({ configuration: { apiKeys: { keys: [{ key: 'k', subject: 's' }] } }, request: {}, expect: { startError: 'x' } }), module);
  t.same(started.failures, ['startError: expected the plugin to refuse to start, but it started']);
  const refused = await runFixture(parseFixture({ configuration: '{}', request: {} }), module);
  t.match(refused.failures, [/^the plugin did not start: start_failed/], 'an unexpected start failure is reported, not thrown');
});

t.test('fixtures are checked strictly', async (t) => {
  t.throws(() => parseFixture({ request: {}, expect: { stauts: 200 } }, 'typo.json'), { code: 'options_invalid', message: /typo\.json: expect: Unrecognized key: "stauts"/ });
  t.throws(() => parseFixture({ request: { path: 5 } }, 'types.json'), { message: /types\.json: request\.path: /, code: 'options_invalid' });
  t.throws(() => parseFixture({}, 'empty.json'), { message: /empty\.json: request: / });
  const defaults = parseFixture({ request: {} });
  t.same(defaults.request, { method: 'GET', path: '/', headers: {} }, 'request defaults');
  t.same(defaults.expect, {}, 'no expectations by default');
  await t.rejects(runFixture(parseFixture({ request: {}, time: 'not a date' }), new Uint8Array(0)), { code: 'options_invalid' });
});
