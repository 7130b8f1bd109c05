/**
 * Profiles iacdash under scenario A's load: `node --cpu-prof` on the
 * server, ghz at saturation, then the .cpuprofile's self time per function
 * (and per file), parsed here.
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import scenarioA from '../scenarios/a-ext-authz-grpc.mjs';
import scenarioC, { C } from '../scenarios/c-transforms-envoy.mjs';
import { startEnvoyStack } from './envoy-stack.mjs';
import { extProcFilter } from './filters.mjs';
import { ghz } from './ghz.mjs';
import { BENCH_DIR } from './paths.mjs';
import { startIacdash } from './servers.mjs';

/** Buckets for the self time, first match wins: where a performance change would have to act. */
export const CATEGORIES = [
  ['idle (waiting for I/O)', (f) => f.function === '(idle)'],
  ['policy evaluation (OPA wasm)', (f) => f.file.startsWith('wasm://')],
  ['opa-wasm JS glue (JSON in/out of wasm memory)', (f) => f.file.includes('@open-policy-agent/opa-wasm')],
  ['Lua VM (fengari)', (f) => f.file.includes('/fengari/')],
  ['iacdash ext_proc and Lua API', (f) => /dist\/(extproc|lua)\//.test(f.file)],
  ['host builtins (JWT, crypto)', (f) => /dist\/policy\/builtins\/|node:internal\/crypto/.test(f.file)],
  ['protobuf decode/encode', (f) => /protobufjs|dist\/server\/(protomap|strict-decode)/.test(f.file) || /\$(decode|encode|fromObject|toObject)$/.test(f.function)],
  ['iacdash input and response building', (f) => /dist\/(authz|json|policy)\//.test(f.file)],
  ['gRPC + HTTP/2 transport (grpc-js, node:http2, streams)', (f) => /@grpc\/grpc-js|node:internal\/(http2|streams|stream_base)|node:net|node:events|node:internal\/process\/task_queues/.test(f.file) || /^(runMicrotasks|writeBuffer|writev|writeUtf8String)$/.test(f.function)],
  ['garbage collector', (f) => f.function === '(garbage collector)'],
  ['buffers and strings (node:buffer, TextEncoder)', (f) => /node:buffer|node:internal\/(buffer|encoding)/.test(f.file) || /^(encodeUtf8String|isUtf8|base64urlWrite|utf8Write|latin1Write)$/.test(f.function)],
  ['(program): V8 and native outside JS', (f) => f.function === '(program)'],
];

/** Self time per function and per file from a V8 .cpuprofile object; `root` shortens paths. */
export function selfTimes(profile, root = '') {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const { samples = [], timeDeltas = [] } = profile;
  // timeDeltas[i] is the time since the previous sample: sample i-1 ran for it.
  for (let i = 0; i < samples.length; i++) {
    const dt = timeDeltas[i + 1] ?? 0;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map();
  const files = new Map();
  const categories = new Map(CATEGORIES.map(([name]) => [name, 0]));
  categories.set('other', 0);
  for (const [id, us] of self) {
    const cf = byId.get(id)?.callFrame ?? {};
    let url = (cf.url ?? '').replace(/^file:\/\//, '');
    if (root && url.startsWith(root)) url = relative(root, url);
    const name = cf.functionName || (url ? '(anonymous)' : '(native)');
    const where = url ? `${url}:${(cf.lineNumber ?? 0) + 1}` : '';
    const key = `${name} ${where}`;
    const f = fns.get(key) ?? { function: name, where, self_ms: 0 };
    f.self_ms += us / 1000;
    fns.set(key, f);
    const file = url || name;
    files.set(file, (files.get(file) ?? 0) + us / 1000);
    const cat = CATEGORIES.find(([, match]) => match({ function: name, file }))?.[0] ?? 'other';
    categories.set(cat, categories.get(cat) + us / 1000);
  }
  const pct = (ms) => (total > 0 ? (100 * ms * 1000) / total : 0);
  return {
    total_ms: total / 1000,
    functions: [...fns.values()].sort((a, b) => b.self_ms - a.self_ms).map((f) => ({ ...f, self_pct: pct(f.self_ms) })),
    files: [...files.entries()].map(([file, ms]) => ({ file, self_ms: ms, self_pct: pct(ms) })).sort((a, b) => b.self_ms - a.self_ms),
    categories: [...categories.entries()].map(([category, ms]) => ({ category, self_ms: ms, self_pct: pct(ms) })).sort((a, b) => b.self_ms - a.self_ms),
  };
}

/** Markdown for the top `n` functions and files. */
export function profileMarkdown(t, { n = 15, title = 'iacdash CPU profile' } = {}) {
  const lines = [`### ${title}`, '', `Total sampled: ${t.total_ms.toFixed(0)} ms.`, '', '| # | Self % | Self ms | Function | Where |', '|---:|---:|---:|---|---|'];
  t.functions.slice(0, n).forEach((f, i) => lines.push(`| ${i + 1} | ${f.self_pct.toFixed(1)} | ${f.self_ms.toFixed(0)} | \`${f.function}\` | ${f.where ? `\`${f.where}\`` : ''} |`));
  lines.push('', 'By where the time goes:', '', '| Self % | Self ms | Category |', '|---:|---:|---|');
  t.categories.forEach((c) => lines.push(`| ${c.self_pct.toFixed(1)} | ${c.self_ms.toFixed(0)} | ${c.category} |`));
  lines.push('', '| Self % | File |', '|---:|---|');
  t.files.slice(0, 10).forEach((f) => lines.push(`| ${f.self_pct.toFixed(1)} | \`${f.file}\` |`));
  return `${lines.join('\n')}\n`;
}

/** Runs the profile; writes profile-iacdash.{json,md} to outDir and returns { markdown }. */
export async function profileIacdash(ctx, seconds, outDir) {
  const state = await scenarioA.setup(ctx);
  const bundle = join(ctx.workDir, 'serving-profile.tar.gz');
  copyFileSync(state.bundles.r1, bundle);
  const profDir = join(ctx.workDir, 'cpuprof');
  const server = await startIacdash({ root: ctx.root, core: ctx.cores.server, bundle, workDir: ctx.workDir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], name: 'iacdash (profiled)' });
  let load;
  try {
    await scenarioA.verify(ctx, state, server, { role: 'subject', name: 'iacdash' });
    load = await ghz({ bin: ctx.tools.ghz, core: ctx.cores.generator, port: server.grpcPort, dataFile: state.dataFile, seconds, concurrency: 50, workDir: ctx.workDir, tag: 'profile' });
  } finally {
    await server.stop();
  }
  return writeProfile(ctx, profDir, outDir, 'profile-iacdash', `iacdash CPU profile: ${seconds} s of scenario A at saturation (${load.rps.toFixed(0)} req/s under --cpu-prof)`, load);
}

/** Parses the one .cpuprofile in profDir; writes NAME.{md,json} to outDir; returns { markdown }. */
function writeProfile(ctx, profDir, outDir, name, title, load) {
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile written in ${profDir}`);
  // Kept beside the run's scratch folder (removed at the end) for flame graphs: results/tmp/ is git-ignored.
  copyFileSync(join(profDir, file), join(BENCH_DIR, 'results', 'tmp', `${name}.cpuprofile`));
  const t = selfTimes(JSON.parse(readFileSync(join(profDir, file), 'utf8')), ctx.root);
  const markdown = profileMarkdown(t, { title });
  writeFileSync(join(outDir, `${name}.md`), markdown);
  writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify({ load, total_ms: t.total_ms, categories: t.categories, functions: t.functions.slice(0, 50), files: t.files.slice(0, 30) }, null, 1)}\n`);
  return { markdown };
}

/**
 * Profiles iacdash as scenario C's header-only ext_proc sidecar: Envoy in
 * front, wrk at saturation; writes profile-iacdash-extproc.{md,json}.
 */
export async function profileExtProc(ctx, seconds, outDir) {
  const state = scenarioC.setup(ctx);
  const profDir = join(ctx.workDir, 'cpuprof-extproc');
  const running = await startEnvoyStack(ctx, {
    httpFilters: (cluster) => [extProcFilter(cluster)],
    startSidecar: () => startIacdash({ root: ctx.root, core: ctx.cores.server, scripts: [{ name: 'request-transformation', file: state.scriptFile }], workDir: ctx.workDir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], name: 'iacdash (profiled)' }),
  });
  running.mix = state.headerMix;
  let load;
  try {
    await scenarioC.verify(ctx, state, running, { name: C.extproc, role: 'subject' });
    load = await scenarioC.saturate(ctx, state, running, seconds, 'profile');
  } finally {
    await running.stop();
  }
  return writeProfile(ctx, profDir, outDir, 'profile-iacdash-extproc', `iacdash CPU profile: ${seconds} s of scenario C's header-only ext_proc at saturation (${load.rps.toFixed(0)} req/s under --cpu-prof; one request-headers message per request)`, load);
}
