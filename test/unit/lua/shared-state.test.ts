// A script's streams share one Lua state, as Envoy's requests share a
// worker's: the top level runs once, globals written by one request are seen
// by the next, and each phase is a new coroutine. A phase stopped by a
// sandbox violation retires the state, so no later stream sees what it left
// half-done; an error the script raises itself keeps the state, as in Envoy.
import t from 'tap';
import { LuaScript, type LuaErrorCode, type PhaseStep, type StreamContext } from '../../../src/lua/index.js';

const limits = { maxInstructions: 300_000, maxMillis: 60_000, maxStringBytes: 4e6, maxBodyBytes: 1e6 };

/** Counts requests in a global; x-do picks a way to fail after counting. */
const COUNTER = `
print("top level ran")
requests = 0
function envoy_on_request(handle)
  requests = requests + 1
  local h = handle:headers()
  h:add("x-request-count", tostring(requests))
  local what = h:get("x-do")
  if what == "error" then error("boom")
  elseif what == "unsupported" then handle:httpCall()
  elseif what == "loop" then while true do end
  elseif what == "huge" then local s = string.rep("x", 1e9)
  elseif what == "forbidden" then os.execute("id")
  elseif what == "clock" then handle:timestamp()
  end
end
function envoy_on_response(handle)
  handle:headers():add("x-response-count", tostring(requests))
end
`;

function counter(): LuaScript {
  return LuaScript.compile(COUNTER, 'counter.lua', limits);
}

/** The x-request-count the request phase set, or the step's error code. */
function countOf(step: PhaseStep): string {
  if (step.kind === 'error') return step.code;
  if (step.kind !== 'done') return step.kind;
  const set = step.headers?.set.find((s) => s.name === 'x-request-count' || s.name === 'x-response-count');
  return set?.values.map(String).join(',') ?? 'none';
}

function request(script: LuaScript, opts: { do?: string; ctx?: StreamContext } = {}): PhaseStep {
  const headers: Array<[string, string]> = [[':path', '/']];
  if (opts.do !== undefined) headers.push(['x-do', opts.do]);
  return script.newStream(opts.ctx ?? {}).begin('request', headers, { endOfStream: true });
}

t.test('a global counts requests across streams: 1, 2, 3, as Envoy shares a worker\'s globals', async (t) => {
  const script = counter();
  const steps = [request(script), request(script), request(script)];
  t.same(steps.map(countOf), ['1', '2', '3']);
  t.same(steps.map((s) => s.logs.map((l) => l.message)), [['top level ran'], [], []], 'the top level ran once, at the first stream');
  t.same(script.stateCounts, { builds: 1, retired: 0, vms: 1 });
});

t.test('interleaved streams see each other\'s writes between their phases', async (t) => {
  const script = counter();
  const a = script.newStream();
  const b = script.newStream();
  t.equal(countOf(a.begin('request', [[':path', '/a']], { endOfStream: true })), '1');
  t.equal(countOf(b.begin('request', [[':path', '/b']], { endOfStream: true })), '2');
  t.equal(countOf(a.begin('response', [[':status', '200']], { endOfStream: true })), '2', 'a\'s response phase sees b\'s request');
});

t.test('an error the script raises keeps the state, as Envoy does', async (t) => {
  for (const [what, code] of [['error', 'lua_error'], ['unsupported', 'lua_unsupported_api']] as const) {
    const script = counter();
    t.equal(countOf(request(script)), '1', what);
    t.equal(countOf(request(script, { do: what })), code, what);
    t.equal(countOf(request(script)), '3', `${what}: the failed request counted, and the count goes on`);
    t.same(script.stateCounts, { builds: 1, retired: 0, vms: 1 }, what);
  }
});

/** Each violation in its own case: the next stream gets a rebuilt state (the top level runs again). */
const VIOLATIONS: Array<[string, LuaErrorCode]> = [
  ['loop', 'lua_budget_exceeded'],
  ['huge', 'lua_memory_exceeded'],
  ['forbidden', 'lua_forbidden_call'],
];
for (const [what, code] of VIOLATIONS) {
  t.test(`after ${code} the state is retired and the next stream starts afresh`, async (t) => {
    const script = counter();
    t.equal(countOf(request(script)), '1');
    t.equal(countOf(request(script)), '2');
    t.equal(countOf(request(script, { do: what })), code);
    const next = request(script);
    t.equal(countOf(next), '1', 'fresh globals');
    t.same(next.logs.map((l) => l.message), ['top level ran'], 'the top level ran again');
    t.equal(countOf(request(script)), '2', 'and the new state is shared again');
    t.same(script.stateCounts, { builds: 2, retired: 1, vms: 1 });
  });
}

t.test('after fengari itself threw (a host callback failed), the VM is compiled again', async (t) => {
  const script = counter();
  t.equal(countOf(request(script)), '1');
  const broken = request(script, { do: 'clock', ctx: { now: () => { throw new Error('clock broke'); } } });
  t.equal(broken.kind, 'error');
  t.match(broken.kind === 'error' ? broken.message : '', 'iacdash: internal error: Error: clock broke');
  t.equal(countOf(request(script)), '1', 'fresh globals in a new VM');
  t.same(script.stateCounts, { builds: 2, retired: 1, vms: 2 });
});

t.test('a stream already on a retired state finishes there; later streams do not see it', async (t) => {
  const script = LuaScript.compile(
    `requests = 0
     function envoy_on_request(handle)
       requests = requests + 1
       mine = handle:headers():get(":path")
       if mine == "/loop" then while true do end end
       local body = handle:body()
       handle:logInfo("requests=" .. requests .. " mine=" .. mine .. " body=" .. body:getBytes(0, body:length()))
     end
     function envoy_on_response(handle)
       handle:logInfo("response: requests=" .. requests .. " mine=" .. tostring(mine))
     end`,
    'waiting.lua',
    limits,
  );
  const waiting = script.newStream();
  t.equal(waiting.begin('request', [[':path', '/waiting']], { endOfStream: false }).kind, 'needs_body');
  const loop = script.newStream().begin('request', [[':path', '/loop']], { endOfStream: true });
  t.equal(loop.kind === 'error' ? loop.code : loop.kind, 'lua_budget_exceeded');
  const fresh = script.newStream();
  t.equal(fresh.begin('request', [[':path', '/fresh']], { endOfStream: false }).kind, 'needs_body');
  t.same(waiting.provideBody(Buffer.from('kept')).logs.map((l) => l.message), ['requests=2 mine=/loop body=kept'], 'the waiting stream goes on in the retired state');
  t.same(waiting.begin('response', [[':status', '200']], { endOfStream: true }).logs.map((l) => l.message), ['response: requests=2 mine=/loop'], 'both of its phases');
  t.same(fresh.provideBody(Buffer.from('new')).logs.map((l) => l.message), ['requests=1 mine=/fresh body=new'], 'the next stream has the rebuilt state');
});

t.test('envoy_on_request reassigned at run time does not change dispatch (Envoy keeps a reference taken after the top level)', async (t) => {
  const script = LuaScript.compile(
    `function envoy_on_request(handle)
       handle:logInfo("original")
       envoy_on_request = function(h) h:logInfo("replaced") end
       envoy_on_response = function(h) h:logInfo("added") end
     end`,
    'reassign.lua',
    limits,
  );
  for (let i = 0; i < 2; i++) {
    const s = script.newStream();
    t.same(s.begin('request', [[':path', '/']], { endOfStream: true }).logs.map((l) => l.message), ['original']);
    const response = s.begin('response', [[':status', '200']], { endOfStream: true });
    t.same(response.kind === 'done' ? response.skipped : undefined, true, 'a response function defined later is not called');
  }
});

t.test('isolated streams run the top level for themselves and leave the shared state alone', async (t) => {
  const script = counter();
  t.equal(countOf(request(script)), '1');
  const isolated = script.newStream({}, { isolated: true }).begin('request', [[':path', '/']], { endOfStream: true });
  t.equal(countOf(isolated), '1');
  t.same(isolated.logs.map((l) => l.message), ['top level ran']);
  const violating = script.newStream({}, { isolated: true }).begin('request', [[':path', '/'], ['x-do', 'loop']], { endOfStream: true });
  t.equal(countOf(violating), 'lua_budget_exceeded');
  t.equal(countOf(request(script)), '2', 'an isolated stream\'s violation does not retire the shared state');
  t.same(script.stateCounts, { builds: 1, retired: 0, vms: 1 });
});
