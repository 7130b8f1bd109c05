/**
 * Differential test: every CheckRequest in test/diff/corpus/ goes to real
 * opa-envoy-plugin and to iacdash (twice: default `failure_mode: deny`, and
 * `failure_mode: grpc-error`, OPA-Envoy's behaviour), all serving
 * test/fixtures/diff-policy/. The CheckResponses must be identical apart from
 * the random decision id and the order of Go-map-ordered lists; each
 * difference that is there on purpose is spelled out below with its reason.
 *
 * A corpus case is `{description, expect, request, …}`:
 * - `expect: "decision"`: both answer with a CheckResponse; they must match.
 * - `expect: "parse_error"`: OPA-Envoy answers DENIED 400 `request_parse_error: <Go error>`.
 * - `expect: "policy_error"`: evaluation error, undefined decision or a
 *   contract-breaking result; OPA-Envoy answers a gRPC error. `iacdashCode`
 *   names the iacdash error code.
 * - `expect: "invalid_utf8"`: `invalidUtf8` names a placeholder whose first
 *   byte is replaced by 0xFF on the wire.
 * - `jsonText: true`: header values and the denial body were written with
 *   json.marshal and are compared as JSON documents (see compare.ts).
 * - `expand: {"NAME": {"text": "ab", "times": 3}}`: every NAME in the request
 *   becomes "ababab" before encoding, so large requests stay small on disk.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { canonicalJsonText, isUuid, normalise } from './compare.js';
import { buildIacdashBundle, startIacdash, startOpaEnvoy, type Peer, type PeerResult } from './peers.js';
import { encodeProtojsonCheckRequest } from './protojson.js';

type Expect = 'decision' | 'parse_error' | 'policy_error' | 'invalid_utf8';

interface Case {
  readonly name: string;
  readonly description: string;
  readonly expect: Expect;
  readonly iacdashCode?: string;
  readonly jsonText?: boolean;
  readonly invalidUtf8?: string;
  readonly expand?: Record<string, { text: string; times: number }>;
  readonly request: unknown;
}

const CORPUS = join(import.meta.dirname, 'corpus');
const POLICY = join(import.meta.dirname, '..', 'fixtures', 'diff-policy');

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;

const cases: Case[] = readdirSync(CORPUS)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ name: f.slice(0, -'.json'.length), ...(JSON.parse(readFileSync(join(CORPUS, f), 'utf8')) as Omit<Case, 'name'>) }));

function encodeCase(c: Case): Buffer {
  let request = c.request;
  if (c.expand) {
    let text = JSON.stringify(request);
    for (const [name, { text: unit, times }] of Object.entries(c.expand)) text = text.replaceAll(name, unit.repeat(times));
    request = JSON.parse(text);
  }
  const bytes = encodeProtojsonCheckRequest(request);
  if (c.invalidUtf8 !== undefined) {
    const at = bytes.indexOf(Buffer.from(c.invalidUtf8, 'utf8'));
    if (at < 0) throw new Error(`${c.name}: placeholder ${c.invalidUtf8} not in the encoded request`);
    bytes[at] = 0xff;
  }
  return bytes;
}

interface Answers {
  readonly peer: PeerResult;
  /** iacdash with default config (failure_mode: deny). */
  readonly deny: PeerResult;
  /** iacdash with failure_mode: grpc-error. */
  readonly grpc: PeerResult;
}

/**
 * Cases where iacdash differs from OPA-Envoy on purpose, each with why and
 * the check that replaces plain equality. Everything not listed here must
 * match exactly (under its `expect` class).
 */
const INTENDED: Record<string, { reason: string; check(t: Test, a: Answers): void }> = {
  'body-json-deep-nesting': {
    reason:
      'iacdash refuses JSON bodies nested deeper than limits.max_json_depth (default 128) so a hostile body cannot exhaust ' +
      "the policy's wasm stack; OPA-Envoy parses them (Go's encoding/json allows 10000 levels). body-json-nesting-128 pins the boundary.",
    check(t, a) {
      t.equal(a.peer.status, 'response', 'opa-envoy-plugin evaluates the policy');
      if (a.peer.status === 'response') t.equal(a.peer.response.deniedResponse?.status?.code, 403, 'opa-envoy-plugin: the policy\'s 403');
      for (const [label, mine] of [['iacdash', a.deny], ['iacdash grpc-error mode', a.grpc]] as const) {
        assertIacdashDenial(t, mine, 'request_parse_error', 400, label);
        if (mine.status === 'response') {
          t.equal(mine.response.deniedResponse?.body, 'request_parse_error: JSON nesting exceeds limits.max_json_depth (128)', `${label}: names the limit`);
        }
      }
    },
  },
  'limit-headers-too-large': {
    reason:
      'iacdash refuses more than limits.max_header_bytes (default 64 KiB) of request headers with DENIED 431, ' +
      "close to Envoy's own 60 KiB default; OPA-Envoy has no limit below gRPC's 4 MiB message size.",
    check(t, a) {
      t.equal(a.peer.status, 'response', 'opa-envoy-plugin evaluates the policy');
      if (a.peer.status === 'response') t.equal(a.peer.response.status?.code ?? GRPC_OK, GRPC_OK, 'opa-envoy-plugin: allowed');
      assertIacdashDenial(t, a.deny, 'request_headers_too_large', 431, 'iacdash');
      assertIacdashDenial(t, a.grpc, 'request_headers_too_large', 431, 'iacdash grpc-error mode');
    },
  },
  'limit-body-too-large': {
    reason:
      'iacdash refuses bodies over limits.max_body_bytes (default 1 MiB) with DENIED 413; OPA-Envoy accepts anything below ' +
      "gRPC's 4 MiB message size.",
    check(t, a) {
      t.equal(a.peer.status, 'response', 'opa-envoy-plugin evaluates the policy');
      if (a.peer.status === 'response') t.equal(a.peer.response.status?.code ?? GRPC_OK, GRPC_OK, 'opa-envoy-plugin: allowed');
      assertIacdashDenial(t, a.deny, 'request_body_too_large', 413, 'iacdash');
      assertIacdashDenial(t, a.grpc, 'request_body_too_large', 413, 'iacdash grpc-error mode');
    },
  },
  'decision-iteration-order': {
    reason:
      "OPA's wasm target iterates sets and objects in its own hash order, where OPA's Go evaluator iterates them sorted; " +
      'the same values come out in another order. A policy that needs an order must sort().',
    check(t, a) {
      for (const [label, mine] of [['iacdash', a.deny], ['iacdash grpc-error mode', a.grpc]] as const) {
        t.equal(mine.status, a.peer.status, `${label}: same kind of answer`);
        if (mine.status !== 'response' || a.peer.status !== 'response') continue;
        t.strictSame(orderInsensitive(normalise(mine.response).response), orderInsensitive(normalise(a.peer.response).response), `${label}: same values, any order`);
      }
    },
  },
  'decision-json-marshal': {
    reason:
      "json.marshal compiled by OPA to wasm neither sorts object keys nor escapes <, > and &, where Go's does; " +
      'the text differs, the JSON document is the same.',
    check(t, a) {
      for (const [label, mine] of [['iacdash', a.deny], ['iacdash grpc-error mode', a.grpc]] as const) {
        t.equal(mine.status, a.peer.status, `${label}: same kind of answer`);
        if (mine.status !== 'response' || a.peer.status !== 'response') continue;
        t.strictSame(normalise(mine.response, { jsonText: true }).response, normalise(a.peer.response, { jsonText: true }).response, `${label}: same JSON`);
        t.notSame(normalise(mine.response).response, normalise(a.peer.response).response, `${label}: different text (if this fails, OPA's wasm json.marshal changed)`);
      }
    },
  },
  'error-result-path-escape-invalid-utf8': {
    reason:
      'iacdash refuses a path whose percent-decoding is not UTF-8 (400 request_parse_error): Go keeps the raw byte, and a ' +
      'replacement character would make %FF and %EF%BF%BD look the same to a policy.',
    check(t, a) {
      t.equal(a.peer.status, 'grpc-error', 'opa-envoy-plugin: gRPC error');
      assertIacdashDenial(t, a.deny, 'request_parse_error', 400, 'iacdash');
      assertIacdashDenial(t, a.grpc, 'request_parse_error', 400, 'iacdash grpc-error mode');
    },
  },
  ...Object.fromEntries(
    ['error-result-status-exponent', 'error-result-status-float-integral', 'error-status-computed-403.0'].map((name) => [
      name,
      {
        reason:
          "opa-wasm hands the decision to the host through JSON.parse, so an integral http_status written as 403.0 or 4.01e2 arrives as the integer; iacdash accepts it where OPA-Envoy's json.Number.Int64 rejects the text. Both deny.",
        check(t: Test, a: Answers) {
          t.equal(a.peer.status, 'grpc-error', 'opa-envoy-plugin: gRPC error');
          for (const [label, mine] of [['iacdash', a.deny], ['iacdash grpc-error mode', a.grpc]] as const) {
            t.equal(mine.status, 'response', `${label}: a CheckResponse`);
            if (mine.status !== 'response') continue;
            t.equal(mine.response.status?.code, GRPC_PERMISSION_DENIED, `${label}: denied`);
            t.match(String(mine.response.deniedResponse?.status?.code), /^4\d\d$/, `${label}: with the integral status`);
          }
        },
      },
    ]),
  ),
};

/** Arrays sorted and comma-joined header values split and sorted: compares content, not order. */
function orderInsensitive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(orderInsensitive).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  if (typeof v === 'string' && v.includes(',')) return v.split(',').sort().join(',');
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, orderInsensitive(x)]));
  return v;
}

/** A response as the iacdash default failure mode answers an error of ours: DENIED with `code: …`. */
function assertIacdashDenial(t: Test, r: PeerResult, code: string, httpStatus: number, label: string): void {
  t.equal(r.status, 'response', `${label}: answers with a CheckResponse`);
  if (r.status !== 'response') return;
  const res = r.response;
  t.equal(res.status?.code, GRPC_PERMISSION_DENIED, `${label}: status PERMISSION_DENIED`);
  t.equal(res.deniedResponse?.status?.code, httpStatus, `${label}: HTTP ${httpStatus}`);
  t.match(res.deniedResponse?.body ?? '', new RegExp(`^${code}: `), `${label}: body starts with "${code}: "`);
  t.equal(res.status?.message, res.deniedResponse?.body, `${label}: status message is the body`);
  t.equal(res.okResponse, undefined, `${label}: no ok response`);
  const { response, decisionId } = normalise(res);
  t.ok(isUuid(decisionId), `${label}: decision_id is a UUID`);
  t.same(Object.keys(response.dynamicMetadata?.fields ?? {}), [], `${label}: nothing but decision_id in dynamic_metadata`);
}

function describe(r: PeerResult): string {
  return JSON.stringify(r, null, 1).slice(0, 4000);
}

function checkDecision(t: Test, c: Case, a: Answers): void {
  t.equal(a.peer.status, 'response', `opa-envoy-plugin answers with a CheckResponse (corpus expectation): ${a.peer.status === 'grpc-error' ? describe(a.peer) : ''}`);
  for (const [label, mine] of [['iacdash', a.deny], ['iacdash grpc-error mode', a.grpc]] as const) {
    if (a.peer.status !== 'response' || mine.status !== 'response') {
      t.same(mine, a.peer, `${label}: same kind of answer as opa-envoy-plugin`);
      continue;
    }
    const theirs = normalise(a.peer.response, { jsonText: c.jsonText ?? false });
    const ours = normalise(mine.response, { jsonText: c.jsonText ?? false });
    t.ok(isUuid(theirs.decisionId), 'opa-envoy-plugin sets a UUID decision_id');
    t.ok(isUuid(ours.decisionId), `${label}: sets a UUID decision_id`);
    t.strictSame(ours.response, theirs.response, `${label}: same CheckResponse as opa-envoy-plugin`);
  }
}

function checkParseError(t: Test, a: Answers): void {
  t.equal(a.peer.status, 'response', 'opa-envoy-plugin answers a parse error with a CheckResponse');
  if (a.peer.status !== 'response') return;
  const peer = a.peer.response;
  const peerText = peer.deniedResponse?.body ?? '';
  t.equal(peer.status?.code, GRPC_PERMISSION_DENIED, 'opa-envoy-plugin: PERMISSION_DENIED');
  t.equal(peer.deniedResponse?.status?.code, 400, 'opa-envoy-plugin: HTTP 400');
  t.match(peerText, /^request_parse_error: /, 'opa-envoy-plugin: request_parse_error body');
  t.equal(peer.status?.message, peerText, 'opa-envoy-plugin: status message is the body');
  // Intended difference (c): OPA-Envoy returns before it adds a decision id.
  t.equal(peer.dynamicMetadata, undefined, 'opa-envoy-plugin: no dynamic metadata (no decision_id) on a parse error');
  for (const [label, mine] of [['iacdash', a.deny], ['iacdash grpc-error mode', a.grpc]] as const) {
    // A parse error is the client's fault: a denial whatever the failure mode.
    assertIacdashDenial(t, mine, 'request_parse_error', 400, label);
    if (mine.status !== 'response') continue;
    const ours = mine.response.deniedResponse?.body ?? '';
    // Intended difference (b): the text after the prefix is Go's error text and may be worded differently.
    if (label === 'iacdash' && ours.startsWith('request_parse_error: ') && ours !== peerText) t.comment(`parse error text differs:\n  opa-envoy-plugin: ${peerText}\n  iacdash:          ${ours}`);
  }
}

function checkPolicyError(t: Test, c: Case, a: Answers): void {
  t.equal(a.peer.status, 'grpc-error', `opa-envoy-plugin answers a gRPC error (corpus expectation): ${a.peer.status === 'response' ? describe(a.peer) : ''}`);
  const code = c.iacdashCode ?? '';
  // failure_mode: grpc-error is OPA-Envoy's behaviour: the same gRPC status.
  t.equal(a.grpc.status, 'grpc-error', `iacdash grpc-error mode answers a gRPC error: ${a.grpc.status === 'response' ? describe(a.grpc) : ''}`);
  if (a.peer.status === 'grpc-error' && a.grpc.status === 'grpc-error') {
    t.equal(a.grpc.response.code, a.peer.response.code, `iacdash grpc-error mode: same gRPC status code as opa-envoy-plugin (peer: ${a.peer.response.details})`);
    t.match(a.grpc.response.details, new RegExp(`^${code}: `), `iacdash grpc-error mode: details start with "${code}: "`);
  }
  // Intended difference (a): by default iacdash fails closed with a 403 denial.
  assertIacdashDenial(t, a.deny, code, 403, 'iacdash (failure_mode: deny)');
}

function checkInvalidUtf8(t: Test, a: Answers): void {
  // Intended difference (d): grpc-go refuses to unmarshal the request; iacdash
  // answers a defined denial instead of an opaque transport error.
  t.equal(a.peer.status, 'grpc-error', 'opa-envoy-plugin: gRPC error (grpc-go cannot unmarshal invalid UTF-8)');
  if (a.peer.status === 'grpc-error') t.match(a.peer.response.details, /invalid UTF-8/, 'opa-envoy-plugin: the error names invalid UTF-8');
  assertIacdashDenial(t, a.deny, 'request_invalid_utf8', 400, 'iacdash');
  assertIacdashDenial(t, a.grpc, 'request_invalid_utf8', 400, 'iacdash grpc-error mode');
}

let peer: Peer | undefined;
let iacdashDeny: Peer | undefined;
let iacdashGrpc: Peer | undefined;
let workDir: string | undefined;

t.before(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'iacdash-diff-bundle-'));
  const bundle = buildIacdashBundle(POLICY, workDir);
  [peer, iacdashDeny, iacdashGrpc] = await Promise.all([
    startOpaEnvoy(POLICY),
    startIacdash('failure_mode: deny', bundle),
    startIacdash('failure_mode: grpc-error', bundle, 'authz:\n  failure_mode: grpc-error\nlog:\n  level: error\n'),
  ]);
});

t.teardown(async () => {
  await Promise.all([peer?.stop(), iacdashDeny?.stop(), iacdashGrpc?.stop()]);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

t.test('the corpus is large and covers every class', async (t) => {
  t.ok(cases.length >= 50, `${cases.length} cases`);
  for (const e of ['decision', 'parse_error', 'policy_error', 'invalid_utf8'] as const) {
    t.ok(cases.some((c) => c.expect === e), `has ${e} cases`);
  }
  for (const c of cases) t.ok(['decision', 'parse_error', 'policy_error', 'invalid_utf8'].includes(c.expect), `${c.name}: known expect ${c.expect}`);
});

t.test('JSON text canonicalisation keeps number text and sorts keys only', async (t) => {
  t.equal(canonicalJsonText('{"b":1.0,"a":[1e2,"\\u0026<"]}'), '{"a":[1e2,"&<"],"b":1.0}');
  t.not(canonicalJsonText('{"n":1.0}'), canonicalJsonText('{"n":1}'));
  t.equal(canonicalJsonText('not json {'), 'not json {');
});

for (const c of cases) {
  t.test(c.name, async (t) => {
    const bytes = encodeCase(c);
    const a: Answers = {
      peer: await peer!.check(bytes),
      deny: await iacdashDeny!.check(bytes),
      grpc: await iacdashGrpc!.check(bytes),
    };
    const intended = INTENDED[c.name];
    if (intended) {
      t.comment(`intended difference: ${intended.reason}`);
      intended.check(t, a);
      return;
    }
    if (c.expect === 'decision') checkDecision(t, c, a);
    else if (c.expect === 'parse_error') checkParseError(t, a);
    else if (c.expect === 'policy_error') checkPolicyError(t, c, a);
    else checkInvalidUtf8(t, a);
  });
}
