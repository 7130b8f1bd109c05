/**
 * Installs the load generators the bench needs, reusing what is present:
 * ghz and vegeta from their Go modules (pinned, into the git-ignored
 * `.tools/bin`), wrk from Debian's package. `node lib/install.mjs` runs it;
 * run.mjs calls `ensureTools()` first.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './paths.mjs';

/** Pinned versions. The Go proxy here lists no versions for ghz, so `@latest` is no use: ask for the exact tag. */
export const GENERATOR_VERSIONS = {
  ghz: 'v0.121.0',
  vegeta: 'v12.13.0',
};

const TOOLS_DIR = process.env.IACDASH_TOOLS_DIR ?? join(REPO_ROOT, '.tools');
const BIN = join(TOOLS_DIR, 'bin');

const GO_TOOLS = {
  ghz: { module: 'github.com/bojand/ghz/cmd/ghz', env: 'GHZ_BIN' },
  vegeta: { module: 'github.com/tsenart/vegeta/v12', env: 'VEGETA_BIN' },
};

function stampOf(name) {
  return join(TOOLS_DIR, 'stamps', name);
}

function onPath(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** Path of a Go-built generator: the override variable, else the pinned copy in .tools/bin (installed on demand). */
export function goTool(name, { install = true } = {}) {
  const spec = GO_TOOLS[name];
  const override = process.env[spec.env];
  if (override) {
    if (!existsSync(override)) throw new Error(`${spec.env}=${override}: no such file`);
    return override;
  }
  const path = join(BIN, name);
  const version = GENERATOR_VERSIONS[name];
  const stamp = stampOf(name);
  if (existsSync(path) && existsSync(stamp) && readFileSync(stamp, 'utf8') === version) return path;
  if (!install) throw new Error(`${name} ${version} is not installed; run \`npm --prefix bench run tools\``);
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${name}: \`go\` was not found; it builds the pinned ${name} ${version}. Install Go 1.25+ or set ${spec.env}.`);
  }
  process.stderr.write(`bench tools: installing ${name} ${version} into ${BIN}\n`);
  mkdirSync(BIN, { recursive: true });
  mkdirSync(join(TOOLS_DIR, 'stamps'), { recursive: true });
  execFileSync('go', ['install', `${spec.module}@${version}`], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, GOBIN: BIN },
  });
  if (!existsSync(path)) throw new Error(`${name}: go install finished but ${path} is missing`);
  writeFileSync(stamp, version);
  return path;
}

/** Path of wrk: WRK_BIN, else the one on PATH, else `apt-get install wrk` (Debian, as root). */
export function wrkPath({ install = true } = {}) {
  if (process.env.WRK_BIN) {
    if (!existsSync(process.env.WRK_BIN)) throw new Error(`WRK_BIN=${process.env.WRK_BIN}: no such file`);
    return process.env.WRK_BIN;
  }
  const found = onPath('wrk');
  if (found) return found;
  const hint = 'Install it with `apt-get install wrk` (Debian/Ubuntu), or point WRK_BIN at a wrk binary.';
  if (!install) throw new Error(`wrk was not found. ${hint}`);
  if (!onPath('apt-get')) throw new Error(`wrk was not found and apt-get is not available. ${hint}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`wrk was not found; installing it needs root. ${hint}`);
  }
  process.stderr.write('bench tools: installing wrk with apt-get\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: ['ignore', 'inherit', 'inherit'], env });
  const installed = onPath('wrk');
  if (!installed) throw new Error(`apt-get install wrk finished but wrk is not on PATH. ${hint}`);
  return installed;
}

/** wrk's own version (`debian/4.1.0-3+b2` for Debian's package). */
export function wrkVersion(path) {
  const r = spawnSync(path, ['-v'], { encoding: 'utf8' });
  return /wrk\s+(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1] ?? 'unknown';
}

/** Every generator the given scenarios need; returns their paths. */
export function ensureTools(needs = ['ghz', 'wrk', 'vegeta']) {
  const tools = {};
  if (needs.includes('ghz')) tools.ghz = goTool('ghz');
  if (needs.includes('vegeta')) tools.vegeta = goTool('vegeta');
  if (needs.includes('wrk')) tools.wrk = wrkPath();
  return tools;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const tools = ensureTools();
    for (const [name, path] of Object.entries(tools)) process.stdout.write(`${name}: ${path}\n`);
  } catch (err) {
    process.stderr.write(`bench tools: ${err.message}\n`);
    process.exit(1);
  }
}
