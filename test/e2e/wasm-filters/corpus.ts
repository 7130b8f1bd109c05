// Shared corpus for the wasm filters: loads the request lists, turns each
// case into the same request for the local host and for Envoy, emulates the
// harness's echo upstream for the local host, and normalizes what may
// legitimately differ (Envoy's request id, timings) before comparing.
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Exchange, HttpRequestInput, Upstream, UpstreamRequest } from '../../../src/wasm-host/index.js';
import { groupHeaders, type EchoedRequest, type RequestOptions } from '../harness/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** How a case signs a bearer token (HS256 with the configured secret unless told otherwise). */
export interface BearerSpec {
  claims?: Record<string, unknown>;
  /** Signed as is, for claims that are not JSON. */
  rawClaims?: string;
  header?: Record<string, unknown>;
  secret?: string;
  /** Leave the signature empty. */
  unsigned?: boolean;
  /** Authorization scheme; defaults to `Bearer`. */
  scheme?: string;
}

/** One corpus request. */
export interface CaseRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** A body of `text` repeated `times` times (too big to write out). */
  bodyRepeat?: { text: string; times: number };
  bearer?: BearerSpec;
}

/** One corpus case. */
export interface CorpusCase {
  name: string;
  request: CaseRequest;
  expect: {
    status: number;
    /** custom-auth: the `reason` of the JSON error body. */
    reason?: string;
    /** custom-auth: a 401 for a presented token carries error="invalid_token". */
    invalidToken?: boolean;
    /** custom-auth: identity headers the upstream must see. */
    identity?: { subject: string; method: string; scopes?: string };
    /** Headers the upstream must not see. */
    upstreamAbsent?: string[];
    /** request-logger: false when the path is excluded. */
    logged?: boolean;
  };
}

/** A filter's corpus file. */
export interface Corpus {
  filter: string;
  configuration: Record<string, unknown>;
  cases: CorpusCase[];
}

/** Reads `<filter>.corpus.json`. */
export async function loadCorpus(filter: string): Promise<Corpus> {
  return JSON.parse(await readFile(join(HERE, `${filter}.corpus.json`), 'utf8')) as Corpus;
}

/** An HS256 token as the corpus case describes it. */
export function signToken(spec: BearerSpec, secret: string): string {
  const enc = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
  const header = enc(JSON.stringify(spec.header ?? { alg: 'HS256', typ: 'JWT' }));
  const claims = enc(spec.rawClaims ?? JSON.stringify(spec.claims ?? {}));
  if (spec.unsigned) return `${header}.${claims}.`;
  const signature = createHmac('sha256', spec.secret ?? secret).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${signature}`;
}

/** The request both hosts get: headers in the order the harness sends them, content-length last. */
export function resolveRequest(request: CaseRequest, secret: string): { method: string; path: string; headers: Array<[string, string]>; body: string | undefined } {
  const headers: Array<[string, string]> = Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]);
  if (request.bearer) {
    headers.push(['authorization', `${request.bearer.scheme ?? 'Bearer'} ${signToken(request.bearer, secret)}`]);
  }
  const body = request.bodyRepeat ? request.bodyRepeat.text.repeat(request.bodyRepeat.times) : request.body;
  if (body !== undefined) headers.push(['content-length', String(Buffer.byteLength(body))]);
  return { method: request.method ?? 'GET', path: request.path, headers, body };
}

/** Options for the harness's `request()`. */
export function envoyRequest(resolved: ReturnType<typeof resolveRequest>): RequestOptions {
  const options: RequestOptions = { method: resolved.method, path: resolved.path, headers: Object.fromEntries(resolved.headers) };
  if (resolved.body !== undefined) options.body = resolved.body;
  return options;
}

/** The same request for the local host, with Envoy's authority. */
export function localRequest(resolved: ReturnType<typeof resolveRequest>, authority: string): HttpRequestInput {
  const input: HttpRequestInput = { method: resolved.method, path: resolved.path, authority, headers: resolved.headers };
  if (resolved.body !== undefined) input.body = resolved.body;
  return input;
}

/**
 * The harness's echo upstream as a local-host upstream: the JSON of what it
 * received, with the headers Envoy's router and codec put on the wire (`host`
 * first, `x-envoy-expected-rq-timeout-ms` last), status from `/__status/N`.
 */
export function echoUpstream(seen: EchoedRequest[]): Upstream {
  return (req: UpstreamRequest) => {
    const rawHeaders = ['host', req.authority];
    for (const [k, v] of req.headers) rawHeaders.push(k, v);
    rawHeaders.push('x-envoy-expected-rq-timeout-ms', '15000');
    // Envoy's HTTP/1 codec frames the body on the wire, after the filters: chunked when the
    // filter removed content-length, and content-length: 0 on a body-less OPTIONS request.
    const hasLength = req.headers.some(([k]) => k === 'content-length');
    if (req.body.length > 0 && !hasLength) rawHeaders.push('transfer-encoding', 'chunked');
    if (req.method === 'OPTIONS' && req.body.length === 0 && !hasLength) rawHeaders.push('content-length', '0');
    const echoed: EchoedRequest = {
      method: req.method,
      path: req.path,
      headers: groupHeaders(rawHeaders),
      rawHeaders,
      body: req.body.toString('utf8'),
      bodyBase64: req.body.toString('base64'),
    };
    seen.push(echoed);
    const match = /^\/__status\/(\d{3})(?:[/?]|$)/.exec(req.path);
    const status = match ? Number(match[1]) : 200;
    if (status === 204 || status === 304) return { status };
    const payload = Buffer.from(JSON.stringify(echoed));
    const headers = { 'content-type': 'application/json', 'content-length': String(payload.length) };
    return { status, headers, body: req.method === 'HEAD' ? '' : payload };
  };
}

/** Replaces what differs by design between two runs of the same request (Envoy's request id). */
export function normalizeEcho(echoed: EchoedRequest): EchoedRequest {
  const raw = [...echoed.rawHeaders];
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === 'x-request-id') raw[i + 1] = '<id>';
  return { ...echoed, rawHeaders: raw, headers: groupHeaders(raw) };
}

/** Response headers that Envoy's connection manager adds after the filters run, which the host does not emulate. */
export const ENVOY_RESPONSE_ONLY = new Set(['date', 'server', 'x-envoy-upstream-service-time', 'connection', 'transfer-encoding']);

/** Client-visible headers of a local exchange as Node shows them (names lowercase, repeats joined by ", "). */
export function localClientHeaders(exchange: Exchange): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of exchange.response?.headers ?? []) {
    if (ENVOY_RESPONSE_ONLY.has(k)) continue;
    out[k] = out[k] === undefined ? v : `${out[k]}, ${v}`;
  }
  return out;
}

/** Client-visible headers from Envoy, minus those it adds after the filters. */
export function envoyClientHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || ENVOY_RESPONSE_ONLY.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** A module log line, as both hosts report it. */
export interface LogLine {
  level: string;
  message: string;
}

const ENVOY_LEVEL: Record<string, string> = { warning: 'warn' };

/**
 * Lines a plugin logged from its stream contexts, parsed from Envoy's log:
 * `[time][pid][level][wasm] [file:line] wasm log <name> <root_id> <vm_id>: <message>`.
 */
export function envoyWasmLines(log: string, plugin: string, { withRoot = false } = {}): LogLine[] {
  // Stream contexts log as `<name> <root_id> <vm_id>`, the root context as `<root_id> <vm_id>`.
  const markers = [`wasm log ${plugin} ${plugin} ${plugin}: `, ...(withRoot ? [`wasm log ${plugin} ${plugin}: `] : [])];
  const out: LogLine[] = [];
  for (const line of log.split('\n')) {
    const marker = markers.find((m) => line.includes(m));
    if (marker === undefined) continue;
    const level = /^\[[^\]]*\]\[\d+\]\[(\w+)\]/.exec(line)?.[1] ?? '?';
    out.push({ level: ENVOY_LEVEL[level] ?? level, message: line.slice(line.indexOf(marker) + marker.length) });
  }
  return out;
}

/** Envoy histogram bins keep two significant digits (circllhist): the lower bound of `value`'s bin. */
export function histogramBin(value: number): number {
  if (value < 10) return value;
  const scale = 10 ** (Math.floor(Math.log10(value)) - 1);
  return Math.floor(value / scale) * scale;
}
