import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig, parseConfig, splitHostPort } from '../../../src/config/load.js';

const BAD = join(import.meta.dirname, '..', '..', 'fixtures', 'config', 'bad');

/** Each bad fixture, and the key and words its error must name. */
const EXPECTED: Record<string, RegExp> = {
  'unknown-key.yaml': /unknown-key\.yaml: server: Unrecognized key: "adr"/,
  'addr-without-port.yaml': /addr-without-port\.yaml: server\.addr: expected HOST:PORT/,
  'bad-failure-mode.yaml': /bad-failure-mode\.yaml: authz\.failure_mode: .*"deny"\|"allow"\|"grpc-error"/,
  'negative-limit.yaml': /negative-limit\.yaml: limits\.max_body_bytes: Too small/,
  'wrong-type.yaml': /wrong-type\.yaml: authz\.dry_run: .*expected boolean/,
  'not-yaml.yaml': /not-yaml\.yaml: .*(flow|collection|Unexpected|end)/i,
  'duplicate-key.yaml': /duplicate-key\.yaml: .*unique/i,
  'top-level-list.yaml': /top-level-list\.yaml: \(top level\): expected a mapping/,
  'bad-decision-log-sink.yaml': /bad-decision-log-sink\.yaml: decision_logs\.sink: .*"stdout"\|"file"\|"otlp"/,
  'tracing-not-boolean.yaml': /tracing-not-boolean\.yaml: telemetry\.tracing\.enabled: .*expected boolean/,
};

t.test('every bad fixture is refused with its file and key', async (t) => {
  const files = readdirSync(BAD).sort();
  t.same(files, Object.keys(EXPECTED).sort(), 'each fixture has an expectation');
  for (const file of files) {
    t.throws(() => loadConfig(join(BAD, file)), { code: 'config_invalid', message: EXPECTED[file] }, file);
  }
});

t.test('defaults and overrides', async (t) => {
  const c = parseConfig('', 'x.yaml');
  t.equal(c.server.addr, ':9191', "OPA-Envoy's port");
  t.equal(c.authz.path, 'envoy/authz/allow');
  t.equal(c.authz.failure_mode, 'deny', 'fail-closed by default');
  t.same(c.log.mask_headers.slice(0, 2), ['authorization', 'cookie']);
  const o = parseConfig('server: {addr: "127.0.0.1:1"}\n', 'x.yaml', { addr: '127.0.0.1:2', bundle: 'b.tar.gz', httpAddr: ':3' });
  t.equal(o.server.addr, '127.0.0.1:2', 'flags win over the file');
  t.equal(o.server.http_addr, ':3');
  t.equal(o.bundle.path, 'b.tar.gz');
  t.throws(() => parseConfig('', 'x.yaml', { addr: 'nonsense' }), { message: /server\.addr/ }, 'overrides are validated too');
});

t.test('a missing file is named', async (t) => {
  t.throws(() => loadConfig('/nonexistent/iacdash.yaml'), { code: 'config_invalid', message: /\/nonexistent\/iacdash\.yaml: ENOENT/ });
});

t.test('the shipped example config is valid', async (t) => {
  const c = loadConfig(join(import.meta.dirname, '..', '..', '..', 'iacdash.yaml'));
  t.equal(c.bundle.path, 'build/policies.tar.gz');
});

t.test('splitHostPort', async (t) => {
  t.same(splitHostPort(':9191'), { host: '0.0.0.0', port: 9191 });
  t.same(splitHostPort('127.0.0.1:1'), { host: '127.0.0.1', port: 1 });
  t.same(splitHostPort('[::1]:8'), { host: '::1', port: 8 });
});
