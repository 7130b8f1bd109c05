// The sandbox and the limits: removed functions raise errors naming them,
// budgets stop runaway code even when it catches errors, strings are capped
// before allocation, scripts (and isolated streams) never see each other's
// state, and the LuaJIT shims behave as LuaJIT does.
import t from 'tap';
import { LuaCompileError, LuaScript, resolveLimits, type PhaseStep } from '../../../src/lua/index.js';

const limits = { maxInstructions: 300_000, maxMillis: 60_000 };

function run(body: string, opts: { limits?: Parameters<typeof LuaScript.compile>[2] } = {}): PhaseStep {
  const script = LuaScript.compile(`function envoy_on_request(handle)\n${body}\nend`, 'sb.lua', opts.limits ?? limits);
  return script.newStream().begin('request', [[':path', '/']], { endOfStream: true });
}

function said(step: PhaseStep): string[] {
  return step.logs.map((l) => l.message);
}

function errorOf(step: PhaseStep): { code: string; message: string } | undefined {
  return step.kind === 'error' ? { code: step.code, message: step.message } : undefined;
}

t.test('removed functions raise lua_forbidden_call naming the call', async (t) => {
  const cases: Array<[string, string]> = [
    ['os.execute("id")', 'os.execute()'],
    ['os.exit(1)', 'os.exit()'],
    ['os.getenv("HOME")', 'os.getenv()'],
    ['os.remove("/tmp/x")', 'os.remove()'],
    ['os.rename("a", "b")', 'os.rename()'],
    ['os.tmpname()', 'os.tmpname()'],
    ['require("socket")', 'require()'],
    ['dofile("/etc/passwd")', 'dofile()'],
    ['loadfile("/etc/passwd")', 'loadfile()'],
    ['io.open("/etc/passwd")', 'io.open'],
    ['local x = io.stdout', 'io.stdout'],
    ['debug.getinfo(1)', 'debug.getinfo'],
    ['debug.sethook()', 'debug.sethook'],
    ['package.path = "/tmp/?.lua"', 'package.path'],
    ['local x = package.loaded', 'package.loaded'],
    ['string.dump(function() end)', 'string.dump()'],
    ['load("return 1", "x", "b")', 'load() of binary chunks'],
  ];
  for (const [code, name] of cases) {
    const e = errorOf(run(code));
    t.equal(e?.code, 'lua_forbidden_call', code);
    t.match(e?.message, `iacdash: ${name} is not available in the sandbox`, code);
  }
});

t.test('trapped libraries cannot be unlocked or replaced for other streams', async (t) => {
  t.same(said(run('handle:logInfo(tostring(getmetatable(io)))')), ['false'], 'the trap metatable is protected');
  const e = errorOf(run('setmetatable(io, nil)'));
  t.match(e?.message, /cannot change a protected metatable/);
});

t.test('a forbidden call caught by pcall is an ordinary error the script can handle', async (t) => {
  const step = run('local ok, err = pcall(require, "cjson") handle:logInfo(tostring(ok) .. " " .. err)');
  t.equal(step.kind, 'done');
  t.same(said(step), ['false sb.lua:2: iacdash: require() is not available in the sandbox']);
});

t.test('safe os functions remain; os.time is a float from the stream clock', async (t) => {
  const script = LuaScript.compile(
    'function envoy_on_request(h) h:logInfo(os.time() .. " " .. os.date("!%Y-%m-%d", 0) .. " " .. os.date("!%H", os.time()) .. " " .. type(os.clock()) .. " " .. os.difftime(10, 4) .. " " .. math.type(os.time())) end',
    'os.lua',
    limits,
  );
  const step = script.newStream({ now: () => 1_700_000_000_999 }).begin('request', [[':path', '/']], { endOfStream: true });
  t.same(said(step), ['1700000000 1970-01-01 22 number 6 float']);
});

t.test('the instruction budget stops loops, also inside pcall, xpcall handlers and coroutines', async (t) => {
  for (const body of [
    'while true do end',
    'while true do pcall(function() while true do end end) end',
    'while true do xpcall(function() while true do end end, function(e) while true do end end) end',
    'while true do coroutine.resume(coroutine.create(function() while true do end end)) end',
    'while true do coroutine.wrap(function() while true do end end)() end',
    'local function f() return f() end f()',
    'local t = {} for i = 1, 1e9 do t[i] = i end',
  ]) {
    const e = errorOf(run(body));
    t.equal(e?.code, 'lua_budget_exceeded', body);
    t.match(e?.message, /iacdash: instruction budget of 300000 exceeded/, body);
  }
});

t.test('the time budget stops a loop the instruction budget would allow', async (t) => {
  const e = errorOf(run('while true do end', { limits: { maxInstructions: 1e12, maxMillis: 30 } }));
  t.equal(e?.code, 'lua_budget_exceeded');
  t.match(e?.message, /iacdash: time budget of 30 ms exceeded/);
});

t.test('the budget is per phase: a new phase starts afresh', async (t) => {
  const script = LuaScript.compile(
    'function envoy_on_request(h) for i = 1, 100000 do end end function envoy_on_response(h) for i = 1, 100000 do end end',
    'b.lua',
    { maxInstructions: 250_000, maxMillis: 60_000 },
  );
  const s = script.newStream();
  t.equal(s.begin('request', [[':path', '/']], { endOfStream: true }).kind, 'done');
  t.equal(s.begin('response', [[':status', '200']], { endOfStream: true }).kind, 'done');
});

t.test('strings above maxStringBytes are refused, even under pcall', async (t) => {
  for (const body of [
    'local s = string.rep("x", 1e9)',
    'local s = ("ab"):rep(5e8, ",")',
    'local s = "x" for i = 1, 40 do s = s .. s end',
    'local s = ("x"):rep(1e6) local r = s:gsub("", "yyyy")',
    'local t = {} local big = ("x"):rep(1e6) for i = 1, 20 do t[i] = big end local r = table.concat(t)',
    'local s = ("x"):rep(1e6) local r = string.format("%s%s%s%s%s%s%s%s%s", s, s, s, s, s, s, s, s, s)',
    'for i = 1, 3 do pcall(string.rep, "x", 1e9) end',
    'local big = ("x"):rep(1e6) local r = load("return " .. ("big .. "):rep(20) .. "big", "c", "t", {big = big})()',
  ]) {
    const e = errorOf(run(body, { limits: { ...limits, maxStringBytes: 4e6, maxBodyBytes: 1e6 } }));
    t.equal(e?.code, 'lua_memory_exceeded', body);
    t.match(e?.message, /iacdash: string of \d+ bytes exceeds the limit of 4000000 bytes/, body);
  }
  t.equal(run('local s = ("x"):rep(4e6)', { limits: { ...limits, maxStringBytes: 4e6, maxBodyBytes: 1e6 } }).kind, 'done', 'exactly the limit is fine');
});

t.test('string bytes count against the instruction budget', async (t) => {
  const step = run('for i = 1, 100 do local s = ("x"):rep(1e5) end', { limits: { maxInstructions: 1e5, maxMillis: 60_000, stringByteCost: 1 / 16 } });
  t.equal(errorOf(step)?.code, 'lua_budget_exceeded', '10 MB of strings at 1/16 per byte exceed 100k, in a loop too short for the count hook');
  t.equal(run('for i = 1, 100 do local s = ("x"):rep(1e5) end', { limits: { maxInstructions: 1e5, maxMillis: 60_000, stringByteCost: 0 } }).kind, 'done', 'with no byte cost it fits');
});

t.test('streams of a script share its globals, library tables and string metatable; scripts and isolated streams do not', async (t) => {
  const script = LuaScript.compile(
    `counter = (counter or 0) + 1
     function envoy_on_request(handle)
       handle:logInfo("counter=" .. counter .. " seen=" .. tostring(seen) .. " upper=" .. ("a"):upper() .. " rep=" .. tostring(string.rep == nil))
       seen = true
       string.upper = function() return "HACKED" end
       string.rep = nil
       getmetatable("").__index = { upper = function() return "META" end }
       math.pi = 3
     end
     function envoy_on_response(handle)
       handle:logInfo("same stream: seen=" .. tostring(seen) .. " upper=" .. ("a"):upper() .. " pi=" .. math.pi)
     end`,
    'iso.lua',
    limits,
  );
  const a = script.newStream();
  t.same(said(a.begin('request', [[':path', '/']], { endOfStream: true })), ['counter=1 seen=nil upper=A rep=false']);
  const b = script.newStream();
  t.same(said(b.begin('request', [[':path', '/']], { endOfStream: true })), ['counter=1 seen=true upper=META rep=true'], 'stream b sees a\'s changes, and the top level did not run again (as in Envoy)');
  t.same(said(a.begin('response', [[':status', '200']], { endOfStream: true })), ['same stream: seen=true upper=META pi=3']);
  const isolated = script.newStream({}, { isolated: true });
  t.same(said(isolated.begin('request', [[':path', '/']], { endOfStream: true })), ['counter=1 seen=nil upper=A rep=false'], 'an isolated stream has fresh globals');
  t.same(said(script.newStream().begin('request', [[':path', '/']], { endOfStream: true })), ['counter=1 seen=true upper=META rep=true'], '... and leaves the shared ones alone');
  const other = LuaScript.compile('function envoy_on_request(h) h:logInfo(("a"):upper() .. math.pi) end', 'other.lua', limits);
  t.same(said(other.newStream().begin('request', [[':path', '/']], { endOfStream: true })), ['A3.1415926535898'], 'another script sees nothing of it');
});

t.test('string methods added to the string table work on strings, per script', async (t) => {
  const step = run('function string.shout(s) return s:upper() .. "!" end handle:logInfo(("hi"):shout())');
  t.same(said(step), ['HI!']);
  t.match(errorOf(run('handle:logInfo(("hi"):shout())'))?.message, /attempt to call a nil value \(method 'shout'\)/, 'not in another script');
});

t.test('one stream blowing its budget does not disturb a stream waiting for its body', async (t) => {
  const waiting = LuaScript.compile('function envoy_on_request(h) local b = h:body() h:logInfo(b:getBytes(0, b:length())) end', 'w.lua', limits).newStream();
  t.equal(waiting.begin('request', [[':path', '/']], { endOfStream: false }).kind, 'needs_body');
  t.equal(errorOf(run('while true do end'))?.code, 'lua_budget_exceeded');
  t.same(said(waiting.provideBody(Buffer.from('still here'))), ['still here']);
});

t.test('compile: once per script; has() tells which phases exist; errors name file and line', async (t) => {
  const s = LuaScript.compile('function envoy_on_response(h) end', 'only-response.lua');
  t.same([s.has('envoy_on_request'), s.has('envoy_on_response')], [false, true]);
  t.equal(s.name, 'only-response.lua');
  const err = t.throws(() => LuaScript.compile('\n\nfunction envoy_on_request(h)\n  if then\nend', 'bad.lua')) as LuaCompileError;
  t.type(err, LuaCompileError);
  t.same({ line: err.line, code: err.code }, { line: 4, code: 'lua_syntax_error' });
  t.match(err.message, /^bad\.lua:4: unexpected symbol near 'then'/);
  const loop = t.throws(() => LuaScript.compile('while true do end', 'loop.lua', { maxInstructions: 10_000 })) as LuaCompileError;
  t.equal(loop.code, 'lua_budget_exceeded', 'top-level code is budgeted too');
  t.throws(() => resolveLimits({ maxStringBytes: 10, maxBodyBytes: 20 }), /maxStringBytes \(10\) must be >= maxBodyBytes \(20\)/);
  t.throws(() => resolveLimits({ maxInstructions: 0 }), /maxInstructions must be a positive number/);
});

t.test('LuaJIT compatibility: numbers are doubles, as LuaJIT\'s', async (t) => {
  const step = run(
    `handle:logInfo(tostring(86400 * 1000 * 30) .. " " .. tostring(2147483647 + 1) .. " " .. tostring(0xffffffff) .. " " .. tostring(10 / 2) .. " " .. tostring(7 // 2))
     handle:logInfo(tostring(1e15) .. " " .. tostring(2^53) .. " " .. tostring(0.1) .. " " .. tostring(1/0) .. " " .. tostring(-1/0) .. " " .. tostring(0/0) .. " " .. tostring(-0.0) .. " " .. tostring(1e-5))
     handle:logInfo(math.type(1) .. " " .. math.type(tonumber("3")) .. " " .. tostring(tonumber("3") * 1e9) .. " " .. tostring(math.floor(3.7) * 1e9))
     handle:logInfo(string.format("%d %5d %-6d| %x %X %#x %+d %.3d", 2^40, 7, 3, 2^35, 255, 2^33, 5e9, 4e9))`,
  );
  t.same(said(step), [
    '2592000000 2147483648 4294967295 5 3',
    '1e+15 9.007199254741e+15 0.1 inf -inf nan -0 1e-05',
    'float float 3000000000 3000000000',
    '1099511627776     7 3     | 800000000 FF 0x200000000 +5000000000 4000000000',
  ]);
});

t.test('LuaJIT compatibility: unpack, loadstring, math extras, table.maxn, bit', async (t) => {
  const step = run(
    `handle:logInfo(table.concat({unpack({"a", "b", "c"})}, "") .. loadstring("return 1 + 1")() .. select("#", loadstring("syntax error here")))
     handle:logInfo(math.pow(2, 10) .. " " .. math.log10(1000) .. " " .. math.atan2(1, 1) * 4 .. " " .. math.ldexp(0.5, 4) .. " " .. table.concat({math.frexp(8)}, ",") .. " " .. math.fmod(7, 3) .. " " .. math.cosh(0) .. " " .. math.sinh(0) .. " " .. math.tanh(0))
     handle:logInfo(table.maxn({1, 2, nil, 7}) .. " " .. table.maxn({}))
     handle:logInfo(table.concat({bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.band(0xff, 0x0f0, 0x3c), bit.bor(1, 2, 4), bit.bxor(5, 1), bit.bnot(0), bit.lshift(1, 31), bit.lshift(1, 32), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}, " "))
     handle:logInfo(bit.tohex(255) .. " " .. bit.tohex(-1) .. " " .. bit.tohex(0x12345678, 4) .. " " .. bit.tohex(255, -2))`,
  );
  t.same(said(step), [
    'abc22',
    '1024 3 3.1415926535898 8 0.5,4 1 1 0 0',
    '4 0',
    '-1 5 48 7 4 -1 -2147483648 1 15 -16 878082066 2014458966 2018915346',
    '000000ff ffffffff 5678 FF',
  ]);
});

t.test('LuaJIT compatibility: pairs lists integer keys in ascending order, also from constructors', async (t) => {
  const step = run(
    `local out = {}
     for k in pairs({"a", "b", "c"}) do out[#out + 1] = k end
     local t = {} for i = 5, 1, -1 do t[i] = i end
     for k in pairs(t) do out[#out + 1] = k end
     handle:logInfo(table.concat(out, ","))`,
  );
  t.same(said(step), ['1,2,3,1,2,3,4,5']);
});

t.test('load() of text uses the stream\'s globals and LuaJIT number rules', async (t) => {
  const step = run('x = 21 local f = load("return x * 2 + 2147483647") handle:logInfo(tostring(f()) .. " " .. tostring(load("return y", "c", "t", {y = "own"})()))');
  t.same(said(step), ['2147483689 own']);
  const bad = run('local f, err = load("return +") handle:logInfo(tostring(f) .. " " .. err)');
  t.match(said(bad)[0], /^nil \[string "return \+"\]:1: unexpected symbol near /, 'a syntax error is returned, not raised');
});

t.test('functions that do not exist in Lua 5.3 raise lua_unsupported_api', async (t) => {
  for (const name of ['setfenv', 'getfenv', 'module']) {
    const e = errorOf(run(`${name}(1, {})`));
    t.equal(e?.code, 'lua_unsupported_api', name);
    t.match(e?.message, `iacdash: ${name}() does not exist in Lua 5.3 (fengari)`);
  }
});

t.test('collectgarbage and math.randomseed are harmless', async (t) => {
  t.same(said(run('handle:logInfo(collectgarbage("count") .. collectgarbage()) math.randomseed(42) handle:logInfo(type(math.random()))')), ['00', 'number']);
});

t.test('a script cannot reach the API objects\' shared metatables', async (t) => {
  t.same(said(run('handle:logInfo(tostring(getmetatable(handle)) .. tostring(getmetatable(handle:headers())))')), ['falsefalse']);
});

t.test('error objects that are not strings are described', async (t) => {
  t.match(errorOf(run('error({code = 1})'))?.message, '(error object is a table value)');
  t.match(errorOf(run('error(setmetatable({}, {__tostring = function() return "x" end}))'))?.message, '(error object is a table value)');
});
