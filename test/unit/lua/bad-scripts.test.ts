// Each bad script in test/fixtures/lua/ fails the way the sandbox promises:
// a compile error naming file and line, or an error step with its code. No
// JS exception escapes, and the compiled script keeps serving other streams.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { LuaCompileError, LuaScript, type PhaseStep } from '../../../src/lua/index.js';

const DIR = fileURLToPath(new URL('../../fixtures/lua/', import.meta.url));

/** Expected outcome per fixture file; the test fails if a file is missing here or there. */
const expected: Record<string, { compile: { line: number; code?: string } } | { code: string; message: RegExp; phase?: 'request' | 'response' }> = {
  'loop-forever.lua': { code: 'lua_budget_exceeded', message: /^loop-forever\.lua:4: iacdash: instruction budget of 1500000 exceeded$/ },
  'loop-forever-in-pcall.lua': { code: 'lua_budget_exceeded', message: /instruction budget of 1500000 exceeded/ },
  'loop-in-xpcall-handler.lua': { code: 'lua_budget_exceeded', message: /instruction budget of 1500000 exceeded/ },
  'os-execute.lua': { code: 'lua_forbidden_call', message: /^os-execute\.lua:3: iacdash: os\.execute\(\) is not available in the sandbox$/ },
  'require.lua': { compile: { line: 2, code: 'lua_forbidden_call' } },
  'io-open.lua': { code: 'lua_forbidden_call', message: /io\.open is not available in the sandbox/ },
  'syntax-error.lua': { compile: { line: 4, code: 'lua_syntax_error' } },
  'top-level-error.lua': { compile: { line: 3, code: 'lua_error' } },
  'huge-string.lua': { code: 'lua_memory_exceeded', message: /huge-string\.lua:3: iacdash: string of 1073741824 bytes exceeds the limit of 8388608 bytes/ },
  'huge-string-by-doubling.lua': { code: 'lua_memory_exceeded', message: /string of 16777216 bytes exceeds the limit/ },
  'respond-in-response.lua': { code: 'lua_error', message: /:3: respond not currently supported in the response path$/, phase: 'response' },
  'unsupported-api.lua': { code: 'lua_unsupported_api', message: /iacdash: handle:httpCall\(\) is not supported out of process/ },
  'unexpected-yield.lua': { code: 'lua_error', message: /^script performed an unexpected yield$/ },
  'headers-used-after-body.lua': { code: 'lua_error', message: /:5: object used outside of proper scope$/ },
  'error-thrown.lua': { code: 'lua_error', message: /^error-thrown\.lua:3: boom$/ },
};

t.same(readdirSync(DIR).filter((f) => f.endsWith('.lua')).sort(), Object.keys(expected).sort(), 'one expectation per bad-script file');

const limits = { maxInstructions: 1_500_000, maxMillis: 60_000 };
const good = LuaScript.compile('function envoy_on_request(h) h:headers():add("x-ok", "1") end', 'good.lua', limits);

for (const [file, want] of Object.entries(expected)) {
  t.test(file, async (t) => {
    t.ok(existsSync(join(DIR, file)));
    const source = readFileSync(join(DIR, file), 'utf8');
    if ('compile' in want) {
      const err = t.throws(() => LuaScript.compile(source, file, limits)) as LuaCompileError;
      t.type(err, LuaCompileError);
      t.equal(err.line, want.compile.line, 'names the line');
      t.match(err.message, new RegExp(`^${file.replace('.', '\\.')}:${want.compile.line}: `), 'names the file and line');
      if (want.compile.code !== undefined) t.equal(err.code, want.compile.code);
      return;
    }
    const script = LuaScript.compile(source, file, limits);
    const stream = script.newStream();
    const phase = want.phase ?? 'request';
    let step: PhaseStep = stream.begin(phase, [[':path', '/'], ['content-length', '2']], { endOfStream: false });
    if (step.kind === 'needs_body') step = stream.provideBody(Buffer.from('{}'));
    t.equal(step.kind, 'error');
    if (step.kind !== 'error') return;
    t.equal(step.code, want.code);
    t.match(step.message, want.message);
    t.match(step.traceback ?? '', /stack traceback:/);
    // The same compiled script serves the next stream, and other scripts are untouched.
    const again = script.newStream().begin(phase, [[':path', '/']], { endOfStream: true });
    t.equal(again.kind, 'error', 'a new stream of the same script fails afresh (and does not hang)');
    const ok = good.newStream().begin('request', [[':path', '/']], { endOfStream: true });
    t.equal(ok.kind, 'done');
  });
}

t.test('a huge string is refused before it is allocated', async (t) => {
  const before = process.memoryUsage().arrayBuffers;
  const script = LuaScript.compile(readFileSync(join(DIR, 'huge-string.lua'), 'utf8'), 'huge-string.lua', limits);
  const step = script.newStream().begin('request', [[':path', '/']], { endOfStream: true });
  t.equal(step.kind === 'error' && step.code, 'lua_memory_exceeded');
  t.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024, 'no 1 GB buffer was made');
});

t.test('an error keeps the mutations made before it as partial results', async (t) => {
  const script = LuaScript.compile(readFileSync(join(DIR, 'error-thrown.lua'), 'utf8'), 'error-thrown.lua', limits);
  const step = script.newStream().begin('request', [[':path', '/']], { endOfStream: true });
  t.equal(step.kind, 'error');
  if (step.kind === 'error') t.same(step.partial.headers?.set.map((s) => [s.name, s.values.map(String)]), [['x-before', ['1']]]);
});
