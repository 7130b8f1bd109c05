/**
 * The request mix every ext_authz contender answers: the four example
 * CheckRequests in policies/examples/ plus four variations (allowed and
 * denied, seven of eight with a JWT), as Envoy would send them. The same
 * mix exists at the HTTP level for the through-Envoy scenario.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICIES_DIR, importDist } from './paths.mjs';

const config = JSON.parse(readFileSync(join(POLICIES_DIR, 'config', 'data.json'), 'utf8'));

/** An HS256 token for the demo secret, valid until 2100 like the examples' tokens. */
export function demoToken(sub) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ aud: config.jwt.audience, exp: 4102444800, iat: 1767225600, iss: config.jwt.issuer, sub });
  const sig = createHmac('sha256', config.jwt.secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/**
 * The mix at the HTTP level. `expect` is the HTTP status the policy gives
 * (200 = allowed); `example` names the file a CheckRequest is read from.
 */
export const HTTP_MIX = [
  { name: 'alice GET orders', example: 'alice-get-allowed.jsonc', method: 'GET', path: '/api/orders?limit=10', user: 'alice', expect: 200 },
  { name: 'bob DELETE order', example: 'bob-delete-forbidden.jsonc', method: 'DELETE', path: '/api/orders/17', user: 'bob', expect: 403 },
  { name: 'carol POST bad body', example: 'carol-post-invalid-body.jsonc', method: 'POST', path: '/api/orders', user: 'carol', body: '{"item":"widget","quantity":0}', expect: 400 },
  { name: 'no token', example: 'unauthenticated.jsonc', method: 'GET', path: '/api/orders', expect: 401 },
  { name: 'carol POST order', method: 'POST', path: '/api/orders', user: 'carol', body: '{"item":"widget","quantity":3,"tags":["blue","large"],"note":"ring twice"}', expect: 200 },
  { name: 'erin GET user', method: 'GET', path: '/api/users/42', user: 'erin', expect: 200 },
  { name: 'frank GET team', method: 'GET', path: '/api/teams/042/projects?page=2', user: 'frank', expect: 200 },
  { name: 'dave GET orders', method: 'GET', path: '/api/orders', user: 'dave', expect: 403 },
];

/** Request headers a client sends for one mix entry (no pseudo-headers). */
export function httpHeaders(entry) {
  const headers = { accept: '*/*' };
  if (entry.user) headers.authorization = `Bearer ${demoToken(entry.user)}`;
  if (entry.body !== undefined) headers['content-type'] = 'application/json';
  return headers;
}

/** A CheckRequest in protojson, shaped like the examples (as Envoy 1.39 sends it). */
function checkRequestJson(entry, i) {
  if (entry.example) return JSON.parse(readFileSync(join(POLICIES_DIR, 'examples', entry.example), 'utf8'));
  const port = 52900 + i;
  const headers = {
    ':authority': 'localhost:10000',
    ':method': entry.method,
    ':path': entry.path,
    ':scheme': 'http',
    ...httpHeaders(entry),
    'user-agent': 'curl/8.5.0',
    'x-forwarded-proto': 'http',
    'x-request-id': `6f1c2a4e-01${String(i).padStart(2, '0')}-4c3b-9a55-2f0d1e7b9a01`,
  };
  const http = { id: `1000000000000${port}`, method: entry.method, headers, path: entry.path, host: 'localhost:10000', scheme: 'http', protocol: 'HTTP/1.1' };
  if (entry.body !== undefined) {
    headers['content-length'] = String(Buffer.byteLength(entry.body));
    Object.assign(http, { body: entry.body, size: String(Buffer.byteLength(entry.body)) });
  }
  return {
    attributes: {
      source: { address: { socketAddress: { address: '127.0.0.1', portValue: port } } },
      destination: { address: { socketAddress: { address: '127.0.0.1', portValue: 10000 } } },
      request: { time: '2026-01-01T00:00:00Z', http },
    },
  };
}

function timestamp(text) {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`bad timestamp ${text}`);
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** The CheckRequests as binary protobuf, with what each should answer. */
export async function checkRequestMix() {
  const { envoyProtoRoot } = await importDist('server/protos.js');
  const type = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');
  return HTTP_MIX.map((entry, i) => {
    const json = checkRequestJson(entry, i);
    const time = json.attributes?.request?.time;
    if (typeof time === 'string') json.attributes.request.time = timestamp(time);
    const bytes = Buffer.from(type.encode(type.fromObject(json)).finish());
    return { name: entry.name, expect: entry.expect, bytes };
  });
}

/** Length-delimited messages in one file, as ghz's `--binary-file` reads them (it sends them round-robin). */
export function delimited(messages) {
  const parts = [];
  for (const bytes of messages) {
    let n = bytes.length;
    const len = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      len.push(b);
    } while (n);
    parts.push(Buffer.from(len), bytes);
  }
  return Buffer.concat(parts);
}
