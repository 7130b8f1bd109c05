import t from 'tap';
import { checkRequestToInput, type InputOptions } from '../../../src/authz/input.js';
import { AUTHZ_DECODE } from '../../../src/authz/service.js';
import { stringifyWithRaw } from '../../../src/json/raw-json.js';
import { envoyProtoRoot } from '../../../src/server/protos.js';
import { decodeStrict } from '../../../src/server/strict-decode.js';

const OPTS: InputOptions = { skipBodyParse: false, maxHeaderBytes: 64 * 1024, maxBodyBytes: 1024 * 1024, maxJsonDepth: 64 };
const CheckRequest = envoyProtoRoot().lookupType('envoy.service.auth.v3.CheckRequest');

/** Encodes a protojson-ish object and decodes it the way the server does. */
function wire(obj: Record<string, unknown>): Buffer {
  return Buffer.from(CheckRequest.encode(CheckRequest.fromObject(obj)).finish());
}
function decoded(obj: Record<string, unknown>): any {
  const r = decodeStrict<any>(CheckRequest, wire(obj), AUTHZ_DECODE);
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

t.test('the OPA-Envoy v3 input document', async (t) => {
  const req = decoded({
    attributes: {
      source: { address: { socketAddress: { address: '10.0.0.1', portValue: 5555 } }, principal: 'spiffe://cluster.local/ns/a/sa/b' },
      destination: { address: { socketAddress: { address: '10.0.0.2', portValue: 8080 } } },
      request: {
        time: { seconds: 1700000000, nanos: 5 },
        http: {
          id: '42', method: 'POST', path: '/api/items?x=1&x=2', host: 'example.com', scheme: 'http', protocol: 'HTTP/1.1', size: 9,
          headers: { 'content-type': 'application/json', ':path': '/api/items?x=1&x=2' },
          body: '{"n":1.5}',
          rawBody: Buffer.from('raw'),
        },
      },
      contextExtensions: { team: 'payments' },
      metadataContext: { filterMetadata: { 'envoy.filters.http.jwt_authn': { fields: { sub: { stringValue: 'alice' }, n: { numberValue: 2 } } } } },
    },
  });
  const r = checkRequestToInput(req, OPTS);
  t.ok(r.ok);
  if (!r.ok) return;
  const input = r.input as any;
  t.same(input.version, { ext_authz: 'v3', encoding: 'protojson' });
  t.same(input.parsed_path, ['api', 'items']);
  t.same(input.parsed_query, { x: ['1', '2'] });
  t.equal(stringifyWithRaw(input.parsed_body), '{"n":1.5}');
  t.equal(input.truncated_body, false);
  t.equal(input.source_principal, 'spiffe://cluster.local/ns/a/sa/b');
  const http = input.attributes.request.http;
  t.equal(http.rawBody, Buffer.from('raw').toString('base64'), 'bytes render as base64');
  t.equal(http.size, 9, 'int64 renders as a number (protomap, not protojson strings)');
  t.same(input.attributes.request.time, { seconds: 1700000000, nanos: 5 }, 'Timestamp as {seconds, nanos}');
  t.same(input.attributes.source.address.socketAddress, { address: '10.0.0.1', portValue: 5555 });
  t.same(input.attributes.contextExtensions, { team: 'payments' });
  t.equal(
    stringifyWithRaw(input.attributes.metadataContext.filterMetadata['envoy.filters.http.jwt_authn']),
    '{"sub":"alice","n":2}',
    'Struct as plain JSON',
  );
  t.notOk('destination' in input.attributes && 'principal' in input.attributes.destination, 'unset fields are absent');
});

t.test('protomap details: Go float text, exact int64, proto3 defaults absent', async (t) => {
  const r = checkRequestToInput(
    decoded({
      attributes: {
        request: { http: { path: '/', size: '9007199254740993', body: '', fragment: '' } },
        metadataContext: { filterMetadata: { m: { fields: { big: { numberValue: 1e6 }, small: { numberValue: 1e-7 }, mid: { numberValue: 123456 } } } } },
      },
    }),
    OPTS,
  );
  t.ok(r.ok);
  if (!r.ok) return;
  const json = stringifyWithRaw(r.input);
  t.match(json, '"size":9007199254740993', 'int64 beyond 2^53 keeps its digits');
  t.match(json, '{"big":1e+06,"small":1e-07,"mid":123456}', "Struct numbers as Go's FormatFloat 'g'");
  t.notMatch(json, '"body"', 'explicit empty string is a proto3 default: absent');
  t.notMatch(json, '"fragment"');
});

t.test('skip_request_body_parse leaves parsed_body and truncated_body out', async (t) => {
  const r = checkRequestToInput(decoded({ attributes: { request: { http: { path: '/', body: '{' } } } }), { ...OPTS, skipBodyParse: true });
  t.ok(r.ok);
  if (r.ok) {
    t.notOk('parsed_body' in r.input);
    t.notOk('truncated_body' in r.input);
  }
});

t.test('an empty request still gets the added fields', async (t) => {
  const r = checkRequestToInput(decoded({}), OPTS);
  t.ok(r.ok);
  if (r.ok) t.same(r.input, { version: { ext_authz: 'v3', encoding: 'protojson' }, parsed_path: [''], parsed_query: {}, parsed_body: null, truncated_body: false });
});

t.test('refusals carry their error code', async (t) => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['bad escape', { path: '/a%zz' }, 'request_parse_error'],
    ['bad JSON', { path: '/', headers: { 'content-type': 'application/json' }, body: '{nope' }, 'request_parse_error'],
    ['too deep', { path: '/', headers: { 'content-type': 'application/json' }, body: '['.repeat(10_000) + ']'.repeat(10_000) }, 'request_parse_error'],
    ['1 MiB header', { path: '/', headers: { 'x-big': 'a'.repeat(1024 * 1024) } }, 'request_headers_too_large'],
    ['body over the limit', { path: '/', body: 'b'.repeat(OPTS.maxBodyBytes + 1) }, 'request_body_too_large'],
  ];
  for (const [name, http, code] of cases) {
    const r = checkRequestToInput(decoded({ attributes: { request: { http } } }), OPTS);
    t.equal(r.ok ? 'ok' : r.code, code, name);
  }
});

t.test('strict decoding', async (t) => {
  const good = wire({ attributes: { request: { http: { headers: { 'x-name': 'ZZZZ' } } } } });
  const at = good.indexOf('ZZZZ');
  const bad = Buffer.from(good);
  bad.fill(0xff, at, at + 4);
  const r = decodeStrict(CheckRequest, bad, AUTHZ_DECODE);
  t.equal(r.ok, false);
  if (!r.ok) t.equal(r.invalidUtf8, true, 'invalid UTF-8 is told apart');
  const garbage = decodeStrict(CheckRequest, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), AUTHZ_DECODE);
  t.equal(garbage.ok, false);
  if (!garbage.ok) t.equal(garbage.invalidUtf8, false, 'an undecodable message is malformed, not a UTF-8 problem');
});
