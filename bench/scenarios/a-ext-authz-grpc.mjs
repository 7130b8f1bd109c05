/**
 * Scenario A: ext_authz over gRPC, no Envoy. ghz sends the CheckRequest
 * mix straight to iacdash, to opa-envoy-plugin (same Rego and data), and
 * to a bare grpc-js server that answers OK (the transport ceiling). Also:
 * iacdash's bundle hot swap under load.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ghz } from '../lib/ghz.mjs';
import { sleep } from '../lib/proc.mjs';
import { checkRequestMix, delimited } from '../lib/requests.mjs';
import { buildBundles, startBareGrpc, startIacdash, startOpaEnvoy, swapFile } from '../lib/servers.mjs';
import { verifyCheckMix } from '../lib/verify.mjs';

const CONCURRENCY = 50;

export default {
  id: 'A',
  title: 'ext_authz, gRPC direct',
  subject: 'iacdash',
  generators: ['ghz'],
  targets: [
    { of: 'iacdash', against: 'opa-envoy-plugin', metric: 'throughput', min: 1.5 },
    { of: 'iacdash', against: 'opa-envoy-plugin', metric: 'p99', max: 1 },
    { of: 'iacdash', against: 'bare grpc-js', metric: 'throughput', min: 0.8 },
    { of: 'iacdash', against: 'opa-envoy-plugin', metric: 'rss', max: 1 },
  ],

  async setup(ctx) {
    const mix = await checkRequestMix();
    const dataFile = join(ctx.workDir, 'check-mix.bin');
    writeFileSync(dataFile, delimited(mix.map((r) => r.bytes)));
    const bundles = buildBundles(ctx.root, ctx.workDir);
    return { mix, dataFile, bundles };
  },

  describe(ctx, state) {
    return {
      load: `ghz, ${CONCURRENCY} workers on 1 HTTP/2 connection (as Envoy's one connection per worker), the ${state.mix.length}-request CheckRequest mix round-robin`,
      mix: state.mix.map((r) => `${r.name} → ${r.expect}`),
    };
  },

  contenders: [
    {
      name: 'iacdash',
      role: 'subject',
      start: async (ctx, state) => {
        const bundle = join(ctx.workDir, 'serving-a.tar.gz');
        copyFileSync(state.bundles.r1, bundle);
        return startIacdash({ root: ctx.root, core: ctx.cores.server, bundle, workDir: ctx.workDir });
      },
    },
    { name: 'opa-envoy-plugin', role: 'peer', start: (ctx) => startOpaEnvoy({ root: ctx.root, core: ctx.cores.server }) },
    { name: 'bare grpc-js', role: 'ceiling', start: (ctx) => startBareGrpc({ core: ctx.cores.server }) },
  ],

  pids: (running) => ({ server: running.pid }),

  verify: (ctx, state, running, contender) => verifyCheckMix(contender.name, running.grpcPort, state.mix, { anyOk: contender.role === 'ceiling' }),

  saturate: (ctx, state, running, seconds, tag) =>
    ghz({ bin: ctx.tools.ghz, core: ctx.cores.generator, port: running.grpcPort, dataFile: state.dataFile, seconds, concurrency: CONCURRENCY, workDir: ctx.workDir, tag }),

  fixed: (ctx, state, running, rps, seconds, tag) =>
    ghz({ bin: ctx.tools.ghz, core: ctx.cores.generator, port: running.grpcPort, dataFile: state.dataFile, seconds, rps, concurrency: CONCURRENCY, workDir: ctx.workDir, tag }),

  /**
   * Hot swap under load: while ghz runs at the fixed rate, the bundle file
   * is replaced atomically (r1 → r2, then r2 → r1); the time until /ready
   * reports the new revision, and every non-OK answer, are recorded.
   */
  async extras(ctx, state, rps) {
    const bundle = join(ctx.workDir, 'serving-swap.tar.gz');
    copyFileSync(state.bundles.r1, bundle);
    const server = await startIacdash({ root: ctx.root, core: ctx.cores.server, bundle, workDir: ctx.workDir, name: 'iacdash (hot swap)' });
    try {
      const seconds = ctx.opts.swapSeconds;
      const load = ghz({ bin: ctx.tools.ghz, core: ctx.cores.generator, port: server.grpcPort, dataFile: state.dataFile, seconds, rps, concurrency: CONCURRENCY, workDir: ctx.workDir, tag: 'A-swap' });
      const swaps = [];
      await sleep((seconds * 1000) / 4);
      for (const to of ['r2', 'r1']) {
        const t0 = performance.now();
        swapFile(state.bundles[to], bundle);
        let revision;
        while ((revision = await server.revision()) !== to) {
          if (performance.now() - t0 > 30_000) throw new Error(`iacdash did not switch to ${to} within 30 s (still ${revision}):\n${server.output()}`);
          await sleep(5);
        }
        swaps.push(performance.now() - t0);
        await sleep((seconds * 1000) / 4);
      }
      const result = await load;
      await verifyCheckMix('iacdash after hot swap', server.grpcPort, state.mix);
      ctx.log(`  hot swap: ${swaps.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} to the new revision; ${result.non_ok} non-OK of ${result.requests} (max latency ${result.max_us} µs)`);
      return {
        hot_swap_ms: Math.max(...swaps),
        hot_swap_ms_each: swaps,
        hot_swap_requests: result.requests,
        hot_swap_non_ok: result.non_ok,
        hot_swap_errors: result.errors,
        hot_swap_p999_us: result.p999_us,
        hot_swap_max_us: result.max_us,
      };
    } finally {
      await server.stop();
    }
  },
};
