/**
 * Scenarios C and D: Envoy with the filters under test in front of the echo
 * upstream, and in C a sidecar. Envoy (one worker) and the sidecar share the
 * server core, as they share a pod's CPU, so a filter inside Envoy and one
 * beside it get the same budget; the echo upstream runs on the generator
 * core with the load generators, the same for every contender.
 */
import { cpuSeconds } from './proc.mjs';
import { grpcCluster, startEchoUpstream, startEnvoy } from './servers.mjs';

/**
 * Starts the echo upstream, the sidecar (`startSidecar()`, optional) and
 * Envoy with `httpFilters(sidecarCluster)`; one Running for all three.
 */
export async function startEnvoyStack(ctx, { httpFilters, startSidecar }) {
  const upstream = await startEchoUpstream({ core: ctx.cores.generator });
  let sidecar;
  let envoy;
  try {
    sidecar = startSidecar ? await startSidecar() : undefined;
    envoy = await startEnvoy({
      root: ctx.root,
      core: ctx.cores.server,
      workDir: ctx.workDir,
      httpFilters: httpFilters('sidecar'),
      clusters: sidecar ? [grpcCluster('sidecar', sidecar.grpcPort)] : [],
      upstreamPort: upstream.port,
    });
  } catch (err) {
    await sidecar?.stop();
    await upstream.stop();
    throw err;
  }
  return {
    pid: sidecar?.pid,
    envoyPid: envoy.pid,
    upstreamPid: upstream.pid,
    port: envoy.listenPort,
    readyMs: sidecar ? sidecar.readyMs : envoy.readyMs,
    envoy,
    stop: async () => {
      await envoy.stop();
      await sidecar?.stop();
      await upstream.stop();
    },
  };
}

/**
 * Runs `load` (wrk or vegeta) and adds what Envoy counted for that run: its
 * 5xx answers (an ext_proc error or timeout, a failed wasm VM, an upstream
 * reset) and the ext_proc counters, and the echo upstream's share of its core.
 * wrk counts a 5xx as an answer, so for wrk (`saturation`) they are failed
 * here and left out of the throughput; vegeta already fails them.
 */
export async function withEnvoyCounters(running, load, { saturation }) {
  const read = () => running.envoy.stats('http.ingress.');
  const before = await read();
  const up0 = cpuSeconds(running.upstreamPid);
  const t0 = performance.now();
  const result = await load();
  const wallS = (performance.now() - t0) / 1000;
  const upstreamS = cpuSeconds(running.upstreamPid) - up0;
  const after = await read();
  const delta = (name) => (after[name] ?? 0) - (before[name] ?? 0);
  result.envoy_5xx = delta('http.ingress.downstream_rq_5xx');
  const extProc = Object.keys(after).filter((k) => k.includes('.ext_proc.'));
  if (extProc.length) result.envoy_ext_proc = Object.fromEntries(extProc.map((k) => [k.replace(/^.*\.ext_proc\./, ''), delta(k)]).filter(([, v]) => v !== 0));
  result.upstream_cpu_share = wallS > 0 ? upstreamS / wallS : NaN;
  if (saturation) {
    // Only the 5xx wrk received (it counts them among its non-2xx): a request still in Envoy when wrk stops may fail later.
    const failed = Math.min(result.envoy_5xx, result.non_2xx ?? result.envoy_5xx);
    result.failed = (result.failed ?? 0) + (result.socket_errors ?? 0) + failed;
    if (result.seconds) result.rps = (result.requests - failed) / result.seconds;
  }
  return result;
}
