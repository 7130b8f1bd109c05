// The local host driving the probe filter (wasm-filters/test-filters/probe):
// lifecycle order, bodies, local replies, http_call, properties, failure
// policies, module checks, and the SDK's JSON, SHA-256 and base64 helpers.
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { ensureFilter } from '../../../wasm-filters/build.mjs';
import { ProxyWasmHost, WasmHostError, fixedClock, type HostOptions, type HttpRequestInput } from '../../../src/wasm-host/index.js';

const probeBytes = ensureFilter('probe', { test: true }).then((b) => readFile(b.path));

async function probe(options: Partial<HostOptions> = {}): Promise<ProxyWasmHost> {
  return ProxyWasmHost.create({ module: await probeBytes, rootId: 'probe', ...options });
}

function messages(logs: ReadonlyArray<{ message: string; source: string }>): string[] {
  return logs.filter((l) => l.source === 'module').map((l) => l.message);
}

t.test('a GET runs the callbacks in Envoy order', async (t) => {
  const host = await probe();
  const ex = await host.exchange({ path: '/a' }, () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'hi' }));
  t.same(ex.callbacks, [
    'proxy_on_context_create',
    'proxy_on_request_headers',
    'proxy_on_response_headers',
    'proxy_on_response_body',
    'proxy_on_response_body',
    'proxy_on_log',
    'proxy_on_done',
    'proxy_on_delete',
  ]);
  t.same(messages(ex.logs), [
    'probe: on_request_headers ctx=2 n=6 eos=1',
    'probe: on_response_headers ctx=2 status=200 eos=0',
    'probe: on_response_body ctx=2 size=2 eos=0',
    'probe: on_response_body ctx=2 size=0 eos=1',
    'probe: on_log ctx=2 code=200 path=/a',
    'probe: on_done ctx=2',
    'probe: on_delete ctx=2',
  ], 'the body arrives, then an empty end of stream, as Envoy\'s HTTP/1 codec delivers it');
  t.equal(ex.response?.body.toString(), 'hi');
  t.equal(ex.upstreamRequest?.path, '/a');
  const second = await host.exchange({ path: '/b' });
  t.match(messages(second.logs)[0], /ctx=3 /, 'context ids are never reused');
});

t.test('request headers arrive as Envoy presents them', async (t) => {
  const host = await probe();
  const ex = await host.exchange({ path: '/p', headers: { 'x-probe': 'pairs,multi', 'X-Multi': ['one', 'two'], host: 'example.com' } });
  t.same(messages(ex.logs).slice(1, 3), [
    'probe: multi get=one all=one|two',
    'probe: pairs :authority,:path,:method,:scheme,x-probe,x-multi,x-multi,x-forwarded-proto,x-request-id',
  ]);
  t.equal(ex.upstreamRequest?.authority, 'example.com', 'host becomes :authority');
  const bare = await ProxyWasmHost.create({ module: await probeBytes, rootId: 'probe', envoyHeaders: false });
  const plain = await bare.exchange({ path: '/p', headers: { 'x-probe': 'pairs' } });
  t.equal(messages(plain.logs)[1], 'probe: pairs :authority,:path,:method,:scheme,x-probe', 'envoyHeaders: false adds nothing');
});

t.test('a buffered body can be replaced in both directions', async (t) => {
  const host = await probe();
  const ex = await host.exchange(
    { method: 'POST', path: '/body', headers: { 'x-probe': 'body', 'content-length': '10' }, body: 'hello body' },
    (req) => ({ status: 200, body: `got ${req.body.toString()}` }),
  );
  t.equal(ex.upstreamRequest?.body.toString(), 'HELLO BODY', 'the upstream gets the new request body');
  t.notOk(ex.upstreamRequest?.headers.some(([k]) => k === 'content-length'), 'the filter removed content-length');
  t.equal(ex.response?.body.toString(), '[got HELLO BODY]', 'the client gets the new response body');
  t.same(messages(ex.logs).slice(1, 3), ['probe: on_request_body ctx=2 size=10 eos=0', 'probe: on_request_body ctx=2 size=10 eos=1'], 'paused, the body accumulates');
});

t.test('body chunks are delivered one by one when the filter does not pause', async (t) => {
  const host = await probe();
  const ex = await host.exchange({ method: 'POST', path: '/c', headers: { 'x-probe': '' }, bodyChunks: ['abc', 'defg'] });
  t.same(messages(ex.logs).slice(1, 4), [
    'probe: on_request_body ctx=2 size=3 eos=0',
    'probe: on_request_body ctx=2 size=4 eos=0',
    'probe: on_request_body ctx=2 size=0 eos=1',
  ]);
  t.equal(ex.upstreamRequest?.body.toString(), 'abcdefg');
});

t.test('trailers end the request instead of an empty body call', async (t) => {
  const host = await probe();
  const ex = await host.exchange({ method: 'POST', path: '/t', headers: { 'x-probe': '' }, body: 'xy', trailers: { 'x-checksum': '1' } });
  t.same(messages(ex.logs).slice(1, 3), ['probe: on_request_body ctx=2 size=2 eos=0', 'probe: on_request_trailers ctx=2 n=1']);
  t.same(ex.upstreamRequest?.trailers, [['x-checksum', '1']]);
});

t.test('a local reply skips the upstream and goes through the response callbacks', async (t) => {
  const host = await probe();
  let called = false;
  const ex = await host.exchange({ path: '/local', headers: { 'x-probe': 'local' } }, () => {
    called = true;
    return { status: 200 };
  });
  t.notOk(called, 'the upstream is never called');
  t.equal(ex.source, 'local');
  t.equal(ex.response?.status, 418);
  t.same(ex.response?.headers, [['content-type', 'application/json'], ['x-probe-local', 'yes'], ['content-length', '14']]);
  t.equal(ex.response?.body.toString(), '{"probe":true}');
  t.equal(ex.localReply?.details, 'probe_local_reply', 'details with spaces as underscores, as Envoy stores them');
  t.same(messages(ex.logs).slice(2, 5), [
    'probe: on_response_headers ctx=2 status=418 eos=0',
    'probe: on_response_body ctx=2 size=14 eos=1',
    'probe: on_log ctx=2 code=418 path=/local',
  ]);
});

t.test('http_call pauses the request until the response arrives', async (t) => {
  const calls: unknown[] = [];
  const host = await probe({
    upstreams: {
      echo: (req) => {
        calls.push(req.headers);
        return { status: 201, body: 'created' };
      },
    },
  });
  const ex = await host.exchange({ path: '/call', headers: { 'x-probe': 'call' } });
  t.same(calls, [[[':method', 'GET'], [':path', '/__status/201/probe-call'], [':authority', 'echo']]]);
  t.same(messages(ex.logs).slice(1, 3), ['probe: http_call token>0=yes result=0', 'probe: http_call_response status=201 body=yes read=all']);
  t.ok(ex.upstreamRequest?.headers.some(([k, v]) => k === 'x-probe-call-status' && v === '201'), 'the handler changed the paused request and resumed it');

  const failing = await probe({ upstreams: { echo: () => ({ failure: 'reset' }) } });
  const failed = await failing.exchange({ path: '/call', headers: { 'x-probe': 'call' } });
  t.same(messages(failed.logs).slice(1, 3), ['probe: http_call token>0=yes result=0', 'probe: http_call_response status=none body=no read=partial'], 'a failed call has no headers and no body');
  t.ok(failed.upstreamRequest?.headers.some(([k, v]) => k === 'x-probe-call-status' && v === 'failed'));

  const unknown = await probe();
  const refused = await unknown.exchange({ path: '/call', headers: { 'x-probe': 'call' } });
  t.equal(messages(refused.logs)[1], 'probe: http_call token>0=no result=2', 'an unknown cluster is BAD_ARGUMENT');
});

t.test('a timed-out http_call gets the 504 Envoy answers', async (t) => {
  const host = await probe({ upstreams: { echo: () => new Promise(() => undefined) } });
  const ex = await host.exchange({ path: '/call', headers: { 'x-probe': 'call', 'x-probe-timeout': '50' } });
  t.equal(messages(ex.logs)[2], 'probe: http_call_response status=504 body=yes read=all', 'the upstream never answers, so only the timeout can produce this');
  t.ok(ex.upstreamRequest?.headers.some(([k, v]) => k === 'x-probe-call-status' && v === '504'));
});

t.test('a filter that pauses and never resumes stalls the stream', async (t) => {
  const host = await probe();
  const ex = await host.exchange({ path: '/p', headers: { 'x-probe': 'pause' } });
  t.equal(ex.stalled, 'request');
  t.equal(ex.response, undefined);
  t.equal(ex.upstreamRequest, undefined);
});

t.test('properties: Envoy attributes, plugin identity and overrides', async (t) => {
  const host = await probe({
    name: 'probe-plugin',
    properties: { 'source.address': '10.1.2.3:4567', 'source.port': 4567 },
    clock: fixedClock(1_700_000_000_000_000_000n),
  });
  const ex = await host.exchange({ path: '/x/y?q=1', headers: { 'x-probe': 'props', 'user-agent': 'ua/1', 'x-request-id': 'rid-1' }, authority: 'svc.local' });
  const props = Object.fromEntries(
    messages(ex.logs)
      .filter((m) => m.startsWith('probe: prop '))
      .map((m) => {
        const entry = m.slice('probe: prop '.length);
        const at = entry.indexOf('=');
        return [entry.slice(0, at), entry.slice(at + 1)];
      }),
  );
  t.match(props, {
    'request.path': '/x/y?q=1',
    'request.url_path': '/x/y',
    'request.host': 'svc.local',
    'request.method': 'GET',
    'request.scheme': 'http',
    'request.protocol': 'HTTP/1.1',
    'request.id': 'rid-1',
    'request.useragent': 'ua/1',
    'source.address': '10.1.2.3:4567',
    'source.port': '4567',
    plugin_root_id: 'probe',
    plugin_name: 'probe-plugin',
    plugin_vm_id: 'probe-plugin',
    'request.headers.x-probe': 'props',
  });
  t.ok(messages(ex.logs).includes('probe: prop request.time>0=yes'));
});

t.test('shared data and metrics live in the host', async (t) => {
  const host = await probe();
  const first = await host.exchange({ path: '/s', headers: { 'x-probe': 'shared,metrics' } });
  const second = await host.exchange({ path: '/s', headers: { 'x-probe': 'shared' } });
  t.ok(messages(first.logs).includes('probe: shared set=0 value=v'));
  t.ok(messages(second.logs).includes('probe: shared set=0 value=v+'), 'the second request read the first one\'s value and its cas');
  t.equal(host.metric('probe.requests')?.value, 2n);
  t.equal(host.metric('probe.inflight')?.value, 0n, 'the gauge went up and down');
  t.same(host.metric('probe.sizes')?.samples, [42n]);
});

t.test('ticks run only when the module set a period', async (t) => {
  const host = await probe({ configuration: '{"tickMs":100}' });
  t.equal(host.tickPeriodMs, 100);
  t.ok(host.tick());
  t.ok(host.tick());
  t.notOk(host.tick(), 'the probe stops its timer after two ticks');
  t.same(messages(host.logs).filter((m) => m.includes('on_tick')), ['probe: on_tick 1', 'probe: on_tick 2']);
  host.close();
  t.equal(host.tickPeriodMs, 0, 'close removes the root context');
});

t.test('the host log level drops lower lines, as Envoy does', async (t) => {
  const host = await probe({ logLevel: 'warn' });
  const ex = await host.exchange({ path: '/' });
  t.same(messages(ex.logs), [], 'info lines are dropped');
});

t.test('a trap fails the VM; the failure policy decides what later requests get', async (t) => {
  const trap = { path: '/t', headers: { 'x-probe': 'trap-request' } };
  const next = { path: '/n', headers: { 'x-probe': 'headers' } };

  const closed = await probe();
  const trapped = await closed.exchange(trap);
  t.equal(trapped.response?.status, 503);
  t.equal(trapped.source, 'failure');
  t.same(trapped.failure, { callback: 'proxy_on_request_headers', message: 'RuntimeError: unreachable' });
  t.match(messages(trapped.logs).join('\n'), /abort: Index out of range at ~lib\/array\.ts/, 'the SDK logged the abort at critical level');
  t.ok(trapped.logs.some((l) => l.source === 'host' && l.level === 'error' && l.message === 'Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable'));
  t.same(trapped.callbacks, ['proxy_on_context_create', 'proxy_on_request_headers'], 'no on_log or on_done on a failed VM');
  const after = await closed.exchange(next);
  t.equal(after.response?.status, 503, 'FAIL_CLOSED: every later request is a 503');
  t.same(after.callbacks, []);
  t.equal(after.failure, undefined, 'the failure belongs to the exchange that trapped');

  const open = await probe({ failurePolicy: 'FAIL_OPEN' });
  t.equal((await open.exchange(trap)).response?.status, 503, 'FAIL_OPEN: the trapping request is still a 503');
  const bypassed = await open.exchange(next);
  t.equal(bypassed.response?.status, 200);
  t.equal(bypassed.filtered, false, 'later requests skip the filter');
  t.notOk(bypassed.upstreamRequest?.headers.some(([k]) => k === 'x-probe-added'));

  const legacy = await probe({ failOpen: true });
  const passed = await legacy.exchange(trap);
  t.equal(passed.response?.status, 200, 'fail_open: the trapping request goes on without the filter');
  t.ok(passed.upstreamRequest);

  const reload = await probe({ failurePolicy: 'FAIL_RELOAD' });
  await reload.exchange(trap);
  const fresh = await reload.exchange(next);
  t.equal(fresh.response?.status, 200, 'FAIL_RELOAD: a fresh VM serves the next request');
  t.ok(fresh.upstreamRequest?.headers.some(([k]) => k === 'x-probe-added'), 'and the filter runs again');
  t.same(reload.reloads, { success: 1, failure: 0 });
  t.equal(reload.metric('probe.requests')?.value, 2n, 'metrics survive the reload, like Envoy stats');
});

t.test('a trap in the response headers replaces the upstream response with the 503', async (t) => {
  const host = await probe();
  const ex = await host.exchange({ path: '/t', headers: { 'x-probe': 'trap-response' } });
  t.ok(ex.upstreamRequest, 'the upstream was reached');
  t.equal(ex.response?.status, 503);
  t.equal(ex.response?.body.length, 0);
});

t.test('start failures: a rejected configuration, bad options, bad modules', async (t) => {
  await t.rejects(probe({ configuration: '{"failConfigure":true}' }), { code: 'start_failed', logs: ['[info] probe: on_vm_start root=probe', /on_configure/, '[warn] probe: configured to fail'] });
  await t.rejects(probe({ failOpen: true, failurePolicy: 'FAIL_OPEN' }), { code: 'options_invalid' }, 'Envoy rejects fail_open with failure_policy');
  await t.rejects(ProxyWasmHost.create({ module: Uint8Array.of(1, 2, 3) }), { code: 'module_invalid' });
  await t.rejects(ProxyWasmHost.create({ module: wasmModule({ abi: false }) }), { code: 'module_invalid', message: /proxy_abi_version_0_2_1/ });
  await t.rejects(ProxyWasmHost.create({ module: wasmModule({ malloc: false }) }), { code: 'module_invalid', message: /malloc/ });
  await t.rejects(ProxyWasmHost.create({ module: wasmModule({ imports: [['env', 'abort']] }) }), { code: 'import_unknown', message: /env\.abort/ });
  const minimal = await ProxyWasmHost.create({ module: wasmModule({ imports: [['env', 'proxy_log']] }) });
  const ex = await minimal.exchange({ path: '/' });
  t.equal(ex.response?.status, 200, 'a module that exports no callbacks lets requests through');
  t.same(ex.callbacks, [], 'callbacks the module does not export are never called');
  t.ok(new WasmHostError('host_internal', 'x') instanceof Error);
});

t.test('SDK helpers agree with Node: SHA-256, HMAC-SHA256, base64url, JSON', async (t) => {
  const host = await probe();
  const run = async (headers: Record<string, string>) => messages((await host.exchange({ path: '/', headers: { 'x-probe': 'json,sha,b64', ...headers } })).logs);
  for (const [dataLen, keyLen] of [[0, 0], [3, 3], [55, 64], [56, 65], [64, 100], [119, 1], [200, 32]] as const) {
    const data = 'd'.repeat(dataLen);
    const key = 'k'.repeat(keyLen);
    const lines = await run({ 'x-data': data, 'x-key': key, 'x-json': '1', 'x-b64': '' });
    const sha = createHash('sha256').update(data).digest('hex');
    const hmac = createHmac('sha256', key).update(data).digest('hex');
    t.ok(lines.includes(`probe: sha256=${sha} hmac=${hmac}`), `data ${dataLen} bytes, key ${keyLen} bytes`);
  }
  for (const [text, hex] of [['aGVsbG8', '68656c6c6f'], ['aGVsbG8_', Buffer.from('aGVsbG8_', 'base64url').toString('hex')], ['aGk=', '6869'], ['!!', 'invalid'], ['a', 'invalid']] as const) {
    const lines = await run({ 'x-b64': text, 'x-json': '1' });
    t.ok(lines.includes(`probe: b64=${hex}`), `base64url ${text}`);
  }
  const json: Array<[string, string]> = [
    ['{"a":[1,2,{"b":null}],"c":"\\u00e9"}', 'probe: json ok kind=object length=2'],
    ['"q\\"uote"', 'probe: json ok kind=string length=0 str=q"uote'],
    ['-1.5e3', 'probe: json ok kind=number length=0 num=-1500.0'],
    ['[true,false,null]', 'probe: json ok kind=array length=3'],
    ['{"a":}', 'probe: json error=unexpected character \'}\' at offset 5'],
    ['[1,]', 'probe: json error=unexpected character \']\' at offset 3'],
    ['01', 'probe: json error=unexpected data after the value at offset 1'],
    ['"\\x"', 'probe: json error=bad escape at offset 2'],
    ['{"a" 1}', 'probe: json error=expected \':\' at offset 5'],
    ['{} x', 'probe: json error=unexpected data after the value at offset 3'],
    ['tru', 'probe: json error=unexpected character \'t\' at offset 0'],
    ['', 'probe: json error=unexpected end of input at offset 0'],
    ['['.repeat(100), 'probe: json error=nesting deeper than 64 at offset 65'],
  ];
  for (const [text, expected] of json) {
    const lines = await run({ 'x-json': text, 'x-b64': '' });
    t.ok(lines.includes(expected), `JSON ${JSON.stringify(text)} → ${expected}; got ${JSON.stringify(lines.filter((l) => l.includes('json')))}`);
  }
});

/** A hand-assembled module: exports the ABI marker, memory and malloc unless told not to. */
function wasmModule(options: { abi?: boolean; malloc?: boolean; imports?: Array<[string, string]> }): Uint8Array {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const imports = options.imports ?? [];
  const n = imports.length;
  const exports: number[][] = [str('memory').concat([0x02, 0])];
  if (options.abi !== false) exports.push(str('proxy_abi_version_0_2_1').concat([0x00, n]));
  if (options.malloc !== false) exports.push(str('malloc').concat([0x00, n + 1]));
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [2, 0x60, 0, 0, 0x60, 1, 0x7f, 1, 0x7f]),
    ...(n > 0 ? section(2, [n, ...imports.flatMap(([m, f]) => [...str(m), ...str(f), 0x00, m === 'env' && f === 'proxy_log' ? 1 : 0])]) : []),
    ...section(3, [2, 0, 1]),
    ...section(5, [1, 0, 1]),
    ...section(7, [exports.length, ...exports.flat()]),
    ...section(10, [2, 2, 0, 0x0b, 4, 0, 0x20, 0, 0x0b]),
  ]);
}

t.test('a filter behind one that answered first gets only the log callbacks (regression: request-logger trapped in onLog)', async (t) => {
  const module = await readFile((await ensureFilter('request-logger')).path);
  const host = await ProxyWasmHost.create({ module, rootId: 'request-logger', configuration: '{"headers":["x-trace"]}', clock: fixedClock(0) });
  const ex = await host.exchange({ method: 'DELETE', path: '/orders/7', headers: { 'x-trace': 't-9' } }, undefined, {
    answeredBefore: { status: 401, headers: { 'content-type': 'application/json' }, body: '{"error":"unauthenticated"}' },
  });
  // request-logger exports no proxy_on_done (it keeps no stream alive), so Envoy does not call it.
  t.same(ex.callbacks, ['proxy_on_context_create', 'proxy_on_log', 'proxy_on_delete'], 'as in Envoy');
  t.notOk(ex.failure, 'no trap');
  t.same(messages(ex.logs), ['{"method":"DELETE","path":"/orders/7","status":401,"duration_ms":0,"request_bytes":0,"response_bytes":0,"headers":{"x-trace":"t-9"}}']);
  t.equal(ex.response?.status, 401);
  t.equal(ex.upstreamRequest, undefined);
  t.equal(host.metric('request_logger.responses_4xx')?.value, 1n);
});

t.test('request-logger asks the host level: no line below it, yet every request counted; a line at or above it', async (t) => {
  const module = await readFile((await ensureFilter('request-logger')).path);
  const quiet = await ProxyWasmHost.create({ module, rootId: 'request-logger', configuration: '{"headers":["x-trace"]}', logLevel: 'warn', clock: fixedClock(0) });
  const ex = await quiet.exchange({ path: '/a', headers: { 'x-trace': 't-1' } }, () => ({ status: 200, body: 'ok' }));
  t.same(messages(ex.logs), [], 'an info line under a warn host is not written');
  t.equal(quiet.metric('request_logger.requests')?.value, 1n, 'the request is counted');
  t.equal(quiet.metric('request_logger.responses_2xx')?.value, 1n);

  const loud = await ProxyWasmHost.create({ module, rootId: 'request-logger', configuration: '{"headers":["x-trace"],"logLevel":"warn"}', logLevel: 'warn', clock: fixedClock(0) });
  const ex2 = await loud.exchange({ path: '/a', headers: { 'x-trace': 't-2' } }, () => ({ status: 200, body: 'ok' }));
  t.same(messages(ex2.logs), ['{"method":"GET","path":"/a","status":200,"duration_ms":0,"request_bytes":0,"response_bytes":2,"headers":{"x-trace":"t-2"}}'], 'a warn line under a warn host is written');
});

t.test('the filters free their garbage: memory stays flat over many requests (minimal runtime, collected by the SDK)', async (t) => {
  const corpus = JSON.parse(await readFile('test/e2e/wasm-filters/custom-auth.corpus.json', 'utf8')) as { configuration: { jwt: { secret: string; issuer: string; audience: string } } };
  const { jwt } = corpus.configuration;
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ iss: jwt.issuer, aud: jwt.audience, exp: 4102444800, sub: 'carol', scope: 'orders:read' });
  const token = `${head}.${body}.${createHmac('sha256', jwt.secret).update(`${head}.${body}`).digest('base64url')}`;
  const filters: Array<{ name: string; configuration: unknown; request: HttpRequestInput }> = [
    { name: 'custom-auth', configuration: corpus.configuration, request: { path: '/orders/1', headers: { authorization: `Bearer ${token}` } } },
    { name: 'request-logger', configuration: { headers: ['x-trace'] }, request: { path: '/orders/1', headers: { 'x-trace': 'x'.repeat(2000) } } },
  ];
  for (const f of filters) {
    const module = await readFile((await ensureFilter(f.name)).path);
    const host = await ProxyWasmHost.create({ module, rootId: f.name, configuration: JSON.stringify(f.configuration) });
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const ex = await host.exchange(f.request, () => ({ status: 200, body: 'ok' }));
        if (ex.response?.status !== 200) throw new Error(`${f.name}: status ${ex.response?.status}`);
      }
    };
    await run(200);
    const warm = host.memoryBytes;
    await run(2000);
    t.equal(host.memoryBytes, warm, `${f.name}: no growth over 2000 more requests (${warm} bytes)`);
  }
});
