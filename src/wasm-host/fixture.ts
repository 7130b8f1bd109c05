/**
 * Fixtures: one request through one filter and the effects it must have.
 * A fixture is plain data (JSON or YAML), checked with a strict schema so a
 * misspelt expectation is an error rather than a silent pass.
 *
 * @example
 * ```json
 * {
 *   "name": "no credentials is a 401",
 *   "configuration": { "apiKeys": { "keys": [{ "key": "k-1", "subject": "svc" }] } },
 *   "request": { "method": "GET", "path": "/orders" },
 *   "expect": { "status": 401, "localReply": true, "upstream": { "reached": false },
 *               "logs": [{ "contains": "missing credentials" }] }
 * }
 * ```
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { LOG_LEVELS } from './abi.js';
import { WasmHostError } from './errors.js';
import type { Exchange, UpstreamResponse } from './exchange.js';
import { ProxyWasmHost, fixedClock, type HostOptions } from './host.js';

const headerValues = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
const expectedHeaders = z.record(z.string(), z.union([z.string(), z.null()]));

/** The fixture schema. */
export const fixtureSchema = z.strictObject({
  name: z.string().optional(),
  /** Plugin configuration: text as is, anything else as JSON. */
  configuration: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  rootId: z.string().optional(),
  failurePolicy: z.enum(['FAIL_CLOSED', 'FAIL_OPEN', 'FAIL_RELOAD']).optional(),
  failOpen: z.boolean().optional(),
  /** The clock, fixed: an ISO date or epoch milliseconds. Defaults to the real clock. */
  time: z.union([z.string(), z.number()]).optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  properties: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  request: z.strictObject({
    method: z.string().default('GET'),
    path: z.string().default('/'),
    authority: z.string().optional(),
    headers: headerValues.default({}),
    body: z.string().optional(),
  }),
  /** What the upstream answers; default 200 with no body. */
  response: z
    .strictObject({
      status: z.number().int().min(100).max(599),
      headers: headerValues.default({}),
      body: z.string().optional(),
    })
    .optional(),
  expect: z
    .strictObject({
      status: z.number().int().optional(),
      /** Client-visible response headers; null means absent. */
      headers: expectedHeaders.optional(),
      /** A string compares exactly; an object or array compares as parsed JSON. */
      body: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
      /** True when the filter answered itself (proxy_send_local_response). */
      localReply: z.boolean().optional(),
      upstream: z
        .strictObject({
          reached: z.boolean().optional(),
          headers: expectedHeaders.optional(),
          body: z.string().optional(),
        })
        .optional(),
      /** Module log lines that must appear, in this order (others may come between). */
      logs: z
        .array(
          z.union([
            z.string(),
            z.strictObject({ level: z.enum(LOG_LEVELS).optional(), message: z.string().optional(), contains: z.string().optional() }),
          ]),
        )
        .optional(),
      /** Metric values after the request: a number for counters and gauges, `{ count }` for histograms. */
      metrics: z.record(z.string(), z.union([z.number(), z.strictObject({ count: z.number().int() })])).optional(),
      /** True when the module must trap. */
      trap: z.boolean().optional(),
      /** The plugin must refuse to start (Envoy: "Unable to create Wasm plugin") with a log line containing this text; no request is sent. */
      startError: z.string().optional(),
    })
    .default({}),
});

/** A parsed fixture. */
export type Fixture = z.infer<typeof fixtureSchema>;

/** Validates fixture data; errors read `source: path.to.key: what is wrong`. */
export function parseFixture(data: unknown, source = 'fixture'): Fixture {
  const result = fixtureSchema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new WasmHostError('options_invalid', problems.join('\n'));
}

/** The outcome of {@link runFixture}: what happened and every unmet expectation. */
export interface FixtureResult {
  /** Undefined when the plugin did not start. */
  exchange: Exchange | undefined;
  host: ProxyWasmHost | undefined;
  /** Empty when the fixture passes. */
  failures: string[];
}

function clockFor(time: string | number | undefined): HostOptions['clock'] {
  if (time === undefined) return undefined;
  const ms = typeof time === 'number' ? time : Date.parse(time);
  if (Number.isNaN(ms)) throw new WasmHostError('options_invalid', `time: not a date: ${time}`);
  return fixedClock(BigInt(ms) * 1_000_000n);
}

function header(list: Array<[string, string]>, name: string): string | undefined {
  const values = list.filter(([k]) => k === name.toLowerCase()).map(([, v]) => v);
  return values.length === 0 ? undefined : values.join(',');
}

function checkHeaders(label: string, actual: Array<[string, string]>, expected: Record<string, string | null>, failures: string[]): void {
  for (const [name, want] of Object.entries(expected)) {
    const got = header(actual, name);
    if (want === null && got !== undefined) failures.push(`${label} header ${name}: expected absent, got ${JSON.stringify(got)}`);
    if (want !== null && got !== want) failures.push(`${label} header ${name}: expected ${JSON.stringify(want)}, got ${got === undefined ? 'absent' : JSON.stringify(got)}`);
  }
}

/** Runs one fixture against a module on a fresh host. */
export async function runFixture(fixture: Fixture, module: WebAssembly.Module | Uint8Array): Promise<FixtureResult> {
  const configuration =
    fixture.configuration === undefined || typeof fixture.configuration === 'string'
      ? fixture.configuration
      : JSON.stringify(fixture.configuration);
  const options: HostOptions = { module, logLevel: fixture.logLevel ?? 'trace' };
  if (configuration !== undefined) options.configuration = configuration;
  if (fixture.rootId !== undefined) options.rootId = fixture.rootId;
  if (fixture.failurePolicy !== undefined) options.failurePolicy = fixture.failurePolicy;
  if (fixture.failOpen !== undefined) options.failOpen = fixture.failOpen;
  if (fixture.properties !== undefined) options.properties = fixture.properties;
  const clock = clockFor(fixture.time);
  if (clock) options.clock = clock;
  let host: ProxyWasmHost;
  try {
    host = await ProxyWasmHost.create(options);
  } catch (err) {
    if (!(err instanceof WasmHostError) || err.code !== 'start_failed') throw err;
    const want = fixture.expect.startError;
    const logs = err.logs.join('\n');
    if (want === undefined) return { exchange: undefined, host: undefined, failures: [`the plugin did not start: ${err.message}\n${logs}`] };
    const failures = logs.includes(want) ? [] : [`startError: expected a log line containing ${JSON.stringify(want)}, got ${JSON.stringify(logs)}`];
    return { exchange: undefined, host: undefined, failures };
  }
  if (fixture.expect.startError !== undefined) {
    return { exchange: undefined, host, failures: [`startError: expected the plugin to refuse to start, but it started`] };
  }

  const answer: UpstreamResponse = fixture.response
    ? { status: fixture.response.status, headers: fixture.response.headers, ...(fixture.response.body !== undefined ? { body: fixture.response.body } : {}) }
    : { status: 200 };
  const { request } = fixture;
  const exchange = await host.exchange(
    {
      method: request.method,
      path: request.path,
      headers: request.headers,
      ...(request.authority !== undefined ? { authority: request.authority } : {}),
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    () => answer,
  );

  const failures: string[] = [];
  const expect = fixture.expect;
  const response = exchange.response;
  if (expect.status !== undefined && response?.status !== expect.status) {
    failures.push(`status: expected ${expect.status}, got ${response?.status ?? 'no response'}`);
  }
  if (expect.headers) checkHeaders('response', response?.headers ?? [], expect.headers, failures);
  if (expect.body !== undefined) {
    const text = response?.body.toString('utf8') ?? '';
    if (typeof expect.body === 'string') {
      if (text !== expect.body) failures.push(`body: expected ${JSON.stringify(expect.body)}, got ${JSON.stringify(text)}`);
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!isDeepStrictEqual(parsed, expect.body)) failures.push(`body: expected JSON ${JSON.stringify(expect.body)}, got ${JSON.stringify(text)}`);
    }
  }
  if (expect.localReply !== undefined && (exchange.source === 'local') !== expect.localReply) {
    failures.push(`localReply: expected ${expect.localReply}, got source ${exchange.source ?? 'none'}`);
  }
  if (expect.upstream) {
    const up = exchange.upstreamRequest;
    if (expect.upstream.reached !== undefined && (up !== undefined) !== expect.upstream.reached) {
      failures.push(`upstream.reached: expected ${expect.upstream.reached}, got ${up !== undefined}`);
    }
    if (expect.upstream.headers) checkHeaders('upstream', up?.headers ?? [], expect.upstream.headers, failures);
    if (expect.upstream.body !== undefined && up?.body.toString('utf8') !== expect.upstream.body) {
      failures.push(`upstream.body: expected ${JSON.stringify(expect.upstream.body)}, got ${JSON.stringify(up?.body.toString('utf8'))}`);
    }
  }
  if (expect.logs) {
    const lines = exchange.logs.filter((l) => l.source === 'module');
    let at = 0;
    for (const want of expect.logs) {
      const matches = (l: (typeof lines)[number]): boolean =>
        typeof want === 'string'
          ? l.message === want
          : (want.level === undefined || l.level === want.level) &&
            (want.message === undefined || l.message === want.message) &&
            (want.contains === undefined || l.message.includes(want.contains));
      const found = lines.findIndex((l, i) => i >= at && matches(l));
      if (found < 0) {
        failures.push(`logs: no line ${JSON.stringify(want)} (in order) among ${JSON.stringify(lines.map((l) => `[${l.level}] ${l.message}`))}`);
        break;
      }
      at = found + 1;
    }
  }
  for (const [name, want] of Object.entries(expect.metrics ?? {})) {
    const metric = host.metric(name);
    if (!metric) {
      failures.push(`metric ${name}: not defined`);
    } else if (typeof want === 'number') {
      if (metric.value !== BigInt(want)) failures.push(`metric ${name}: expected ${want}, got ${metric.value}`);
    } else if (metric.samples.length !== want.count) {
      failures.push(`metric ${name}: expected ${want.count} samples, got ${metric.samples.length}`);
    }
  }
  if (expect.trap !== undefined && (exchange.failure !== undefined) !== expect.trap) {
    failures.push(`trap: expected ${expect.trap}, got ${exchange.failure ? `${exchange.failure.callback}: ${exchange.failure.message}` : 'none'}`);
  }
  return { exchange, host, failures };
}
