// The fixture runner policy authors use: it passes what matches, reports each
// mismatch on its own line, and rejects malformed fixtures naming file and key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LuaScript, loadFixture, runFixture, type LuaFixture } from '../../../src/lua/index.js';

const script = LuaScript.compile(
  `function envoy_on_request(h)
     local hs = h:headers()
     if hs:get("x-deny") then return h:respond({[":status"] = "403", ["x-why"] = "deny"}, "no") end
     hs:add("x-added", "1")
     hs:remove("x-gone")
     h:streamInfo():dynamicMetadata():set("ns", "k", "v")
     h:logWarn("warned once")
     local b = h:body()
     if b then b:setBytes('{"b":2}') end
   end`,
  'fx.lua',
  { maxMillis: 20_000 },
);

const base: LuaFixture = {
  request: {
    headers: { ':path': '/', 'x-gone': 'bye' },
    body: '{"a":1}',
    expect: {
      headers: { set: { 'x-added': '1', 'content-length': '7' }, remove: ['x-gone'] },
      body: { json: { b: 2 } },
      dynamicMetadata: { ns: { k: 'v' } },
      logs: [{ level: 'warn', message: 'warned' }],
    },
  },
};

t.test('a matching fixture passes with no diff', async (t) => {
  const r = runFixture(script, base);
  t.same(r.diff, []);
  t.equal(r.pass, true);
  t.equal(r.steps.request?.kind, 'done');
});

t.test('each mismatch is reported', async (t) => {
  const wrong: LuaFixture = {
    request: {
      headers: { ':path': '/', 'x-gone': 'bye' },
      body: '{"a":1}',
      expect: {
        headers: { set: { 'x-added': '2', 'x-missing': { match: '^a' } }, remove: [] },
        body: { json: { b: 3 } },
        dynamicMetadata: { ns: { k: 'other' } },
        logs: [{ level: 'error', message: 'warned' }],
      },
    },
  };
  const r = runFixture(script, wrong);
  t.equal(r.pass, false);
  t.same(
    r.diff.map((d) => d.slice(0, d.indexOf(':'))),
    [
      'request.headers.set.x-added',
      'request.headers.set.x-missing',
      'request.headers.set.content-length',
      'request.headers.remove',
      'request.body',
      'request.dynamicMetadata',
      'request.logs',
    ],
  );
  t.match(r.diff[0], 'expected ["2"], got ["1"]');
});

t.test('respond and error expectations; the kind is checked first', async (t) => {
  const deny: LuaFixture = {
    request: { headers: { ':path': '/', 'x-deny': '1' }, expect: { respond: { status: 403, headers: { 'x-why': 'deny' }, body: 'no' } } },
  };
  t.same(runFixture(script, deny).diff, []);
  const wrongStatus = runFixture(script, { request: { ...deny.request!, expect: { respond: { status: 401 } } } });
  t.same(wrongStatus.diff, ['request.respond.status: expected 401, got 403', 'request.respond.headers.x-why: not expected, got ["deny"]']);
  const expectedError = runFixture(script, { request: { ...deny.request!, expect: { error: { code: 'lua_error' } } } });
  t.same(expectedError.diff, ['request.kind: expected error, got respond (403)']);
  const failing = LuaScript.compile('function envoy_on_request(h) error("bad") end', 'err.lua', { maxMillis: 20_000 });
  t.same(runFixture(failing, { request: { headers: { ':path': '/' }, expect: { error: { code: 'lua_error', message: 'err.lua:1: bad' } } } }).diff, []);
});

t.test('loadFixture reads YAML and JSON, and names the file and key of a mistake', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'iacdash-lua-fx-'));
  const good = join(dir, 'good.yaml');
  writeFileSync(good, 'request:\n  headers: {":path": /}\n  expect: { headers: unchanged }\n');
  t.same(loadFixture(good).request?.expect, { headers: 'unchanged' });
  const json = join(dir, 'good.json');
  writeFileSync(json, JSON.stringify({ response: { headers: [[':status', '200']], expect: {} } }));
  t.same(loadFixture(json).response?.headers, [[':status', '200']]);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'request:\n  headers: {":path": /}\n  expect: { kind: maybe }\n');
  t.throws(() => loadFixture(bad), new RegExp(`^${bad.replace(/[.\\/]/g, '\\$&')}: request\\.expect\\.kind: `));
  const extra = join(dir, 'extra.yaml');
  writeFileSync(extra, 'request:\n  headers: {":path": /}\n  expecting: {}\n');
  t.throws(() => loadFixture(extra), /extra\.yaml: request: Unrecognized key/);
});
