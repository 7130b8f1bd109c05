/**
 * `iacdash eval --wasm FILTER.wasm --request FIXTURE [--config JSON|FILE]`:
 * one request through a proxy-wasm filter in the local host (src/wasm-host),
 * without Envoy. The request file is a wasm-host fixture (its `expect` is
 * allowed and ignored), so a test's fixture can be evaluated as it stands.
 */
import { readFileSync } from 'node:fs';
import { parseFixture, ProxyWasmHost, fixedClock, WasmHostError, type HostOptions, type UpstreamResponse } from '../wasm-host/index.js';
import { requestHeaderList } from '../wasm-host/exchange.js';
import { toHeaderList, type HeaderList } from '../wasm-host/header-map.js';
import { headerObject, readDataFile, requireFile, showBytes } from './eval-input.js';

/** Options of {@link evalWasm}. */
export interface EvalWasmOptions {
  readonly filter: string;
  readonly request: string;
  /** Plugin configuration: inline JSON (starts with `{` or `[`) or a file; overrides the fixture's `configuration`. */
  readonly config?: string | undefined;
  readonly explain: boolean;
}

/** Header changes from `before` to `after`, by name (multi-value headers compare as their value lists). */
export function headerChanges(before: HeaderList, after: HeaderList): Record<string, unknown> {
  const group = (list: HeaderList): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const [k, v] of list) m.set(k, [...(m.get(k) ?? []), v]);
    return m;
  };
  const b = group(before);
  const a = group(after);
  const one = (v: string[]): string | string[] => (v.length === 1 ? (v[0] as string) : v);
  const added: Record<string, unknown> = {};
  const changed: Record<string, unknown> = {};
  const removed: string[] = [];
  for (const [k, v] of a) {
    const old = b.get(k);
    if (old === undefined) added[k] = one(v);
    else if (old.join('\0') !== v.join('\0')) changed[k] = { from: one(old), to: one(v) };
  }
  for (const k of b.keys()) if (!a.has(k)) removed.push(k);
  return { added, changed, removed };
}

function configurationOf(config: string | undefined, fixture: unknown): string | undefined {
  if (config !== undefined) {
    if (/^\s*[[{]/.test(config)) return config;
    requireFile(config, 'the plugin configuration');
    return readFileSync(config, 'utf8');
  }
  if (fixture === undefined || typeof fixture === 'string') return fixture;
  return JSON.stringify(fixture);
}

/** The configuration as the filter gets it, shown parsed when it is JSON. */
function configurationView(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Evaluates and returns what to print. Bad files throw errors naming the file. */
export async function evalWasm(opts: EvalWasmOptions): Promise<Record<string, unknown>> {
  requireFile(opts.filter, 'the wasm filter');
  const fx = parseFixture(readDataFile(opts.request, 'the wasm fixture'), opts.request);
  const configuration = configurationOf(opts.config, fx.configuration);
  const options: HostOptions = { module: readFileSync(opts.filter), logLevel: fx.logLevel ?? 'trace' };
  if (configuration !== undefined) options.configuration = configuration;
  if (fx.rootId !== undefined) options.rootId = fx.rootId;
  if (fx.failurePolicy !== undefined) options.failurePolicy = fx.failurePolicy;
  if (fx.failOpen !== undefined) options.failOpen = fx.failOpen;
  if (fx.properties !== undefined) options.properties = fx.properties;
  if (fx.time !== undefined) {
    const ms = typeof fx.time === 'number' ? fx.time : Date.parse(fx.time);
    if (Number.isNaN(ms)) throw new Error(`${opts.request}: time: not a date: ${fx.time}`);
    options.clock = fixedClock(BigInt(ms) * 1_000_000n);
  }
  let host: ProxyWasmHost;
  try {
    host = await ProxyWasmHost.create(options);
  } catch (err) {
    if (!(err instanceof WasmHostError)) throw err;
    const logs = err.logs.length > 0 ? `\n${err.logs.join('\n')}` : '';
    throw new Error(`${opts.filter}: ${err.code === 'start_failed' ? `the plugin did not start: ${err.message}` : err.message}${logs}`);
  }
  try {
    // The headers the filter sees, fixed once (x-request-id included) so --explain shows exactly them.
    const seen = requestHeaderList(
      { method: fx.request.method, path: fx.request.path, headers: fx.request.headers, ...(fx.request.authority !== undefined ? { authority: fx.request.authority } : {}) },
      true,
    );
    const authority = seen.find(([k]) => k === ':authority')?.[1] as string;
    const answer: UpstreamResponse = fx.response
      ? { status: fx.response.status, headers: fx.response.headers, ...(fx.response.body !== undefined ? { body: fx.response.body } : {}) }
      : { status: 200 };
    const exchange = await host.exchange(
      {
        method: fx.request.method,
        path: fx.request.path,
        authority,
        headers: seen.filter(([k]) => !k.startsWith(':')),
        ...(fx.request.body !== undefined ? { body: fx.request.body } : {}),
      },
      () => answer,
    );
    const out: Record<string, unknown> = {};
    if (opts.explain) {
      out['input'] = { configuration: configurationView(configuration), request: { headers: headerObject(seen), body: fx.request.body ?? null }, upstreamResponse: answer };
    }
    const up = exchange.upstreamRequest;
    out['result'] = exchange.source === 'upstream' ? 'continue' : exchange.source === 'local' ? 'local_response' : exchange.source === 'failure' ? 'failure' : exchange.stalled ? `stalled in ${exchange.stalled}` : `reset: ${exchange.reset ?? 'unknown'}`;
    if (exchange.localReply) {
      const r = exchange.localReply;
      out['localResponse'] = { status: r.status, headers: headerObject(r.headers), body: showBytes(r.body), details: r.details };
    }
    out['response'] = exchange.response
      ? { status: exchange.response.status, headers: headerObject(exchange.response.headers), body: showBytes(exchange.response.body) }
      : null;
    out['upstreamRequest'] = up
      ? { method: up.method, path: up.path, authority: up.authority, headers: headerObject(up.headers), body: showBytes(up.body) }
      : null;
    out['headerChanges'] = {
      request: up
        ? headerChanges(seen, [[':authority', up.authority], [':path', up.path], [':method', up.method], [':scheme', up.scheme], ...up.headers])
        : null,
      response: exchange.source === 'upstream' && exchange.response ? headerChanges(toHeaderList(answer.headers), exchange.response.headers) : null,
    };
    if (exchange.failure) out['failure'] = { callback: exchange.failure.callback, message: exchange.failure.message };
    out['logs'] = exchange.logs.map((l) => ({ level: l.level, message: l.message, ...(l.source === 'host' ? { source: 'host' } : {}) }));
    out['metrics'] = Object.fromEntries(
      host.metrics().map((m) => [m.name, m.kind === 'histogram' ? { count: m.samples.length, samples: m.samples.map(Number) } : Number(m.value)]),
    );
    return out;
  } finally {
    host.close();
  }
}
