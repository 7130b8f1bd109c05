/**
 * One process: the gRPC server (ext_authz, ext_proc, grpc.health.v1) and an
 * HTTP port with /health (the process is up) and /ready (a bundle is loaded
 * and every configured script has compiled), and /metrics (Prometheus).
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Authorizer, AUTHZ_SERVICE, authzHandlers, authzServiceDefinition, entrypointOf } from '../authz/index.js';
import { splitHostPort } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { IacdashError } from '../errors.js';
import { EXT_PROC_SERVICE, extProcHandlers, extProcServiceDefinition } from '../extproc/service.js';
import { ScriptStore } from '../extproc/scripts.js';
import { FileBundleSource, PolicyStore } from '../policy/store.js';
import type { DecisionSink } from '../telemetry/decision-log.js';
import type { Logger } from '../telemetry/log.js';
import type { Metrics } from '../telemetry/metrics.js';
import { createTelemetry } from '../telemetry/setup.js';
import type { Tracing } from '../telemetry/tracing.js';
import { startTls } from './tls.js';

/** A started sidecar. */
export interface RunningServer {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly store: PolicyStore;
  readonly scripts: ScriptStore;
  /** Undefined when `telemetry.metrics.enabled` is false. */
  readonly metrics: Metrics | undefined;
  close(): Promise<void>;
}

/** Test hooks of {@link startServer}. */
export interface StartOptions {
  /** Replaces the configured decision-log sink. */
  readonly decisionLogSink?: DecisionSink;
  /** Replaces the tracing `telemetry.tracing` would start (in-memory spans); its owner shuts it down. */
  readonly tracing?: Tracing;
}

/** Creates the policy store the config describes. */
export function createPolicyStore(config: Config, logger?: Logger): PolicyStore {
  // A transform-only sidecar (ext_proc scripts, no policy) may leave the bundle out.
  if (!config.bundle.path && config.extproc.scripts.length === 0) {
    throw new IacdashError('config_invalid', 'bundle.path: required (set it in the config file or pass --bundle)');
  }
  return new PolicyStore(new FileBundleSource(config.bundle.path ?? ''), {
    entrypoint: entrypointOf(config.authz.path),
    maxMemoryBytes: config.limits.policy_memory_bytes,
    strictBuiltinErrors: config.authz.strict_builtin_errors,
    // Non-strict OPA semantics: the expression is undefined; say why, for policy authors.
    ...(logger?.enabled('debug') ? { onBuiltinError: (error: Error) => logger.debug('builtin error: expression undefined', { error: error.message }) } : {}),
  });
}

function startHttp(config: Config, store: PolicyStore, scripts: ScriptStore, metrics: Metrics | undefined, logger: Logger): Promise<HttpServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && metrics) {
      metrics.expose().then(
        ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
        (err: unknown) => {
          logger.error('metrics scrape failed', { error: err as Error });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n');
        },
      );
    } else if (path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}\n');
    } else if (path === '/ready') {
      const engine = store.engine;
      const reason = !engine && config.bundle.path ? 'no policy bundle loaded' : !scripts.ready ? 'a configured Lua script has not compiled' : undefined;
      const body = reason
        ? { status: 'not ready', reason, load_errors: store.counts.loadErrors + scripts.counts.loadErrors }
        : { status: 'ready', revision: engine?.revision ?? null };
      res.writeHead(reason ? 503 : 200, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  const { host, port } = splitHostPort(config.server.http_addr);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function bindGrpc(server: grpc.Server, addr: string, credentials: grpc.ServerCredentials): Promise<number> {
  const { host, port } = splitHostPort(addr);
  const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(target, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** Starts everything; the bundle loads in the background and readiness follows it. */
export async function startServer(config: Config, logger: Logger, opts: StartOptions = {}): Promise<RunningServer> {
  const store = createPolicyStore(config, logger);
  const telemetry = await createTelemetry(config, logger, { sink: opts.decisionLogSink, tracing: opts.tracing });
  const { metrics, decisionLog, tracing } = telemetry;
  if (metrics) {
    store.on('loaded', ({ revision }) => metrics.bundleLoaded(true, revision));
    store.on('load_error', () => metrics.bundleLoaded(false));
  }
  const health = new HealthImplementation({ '': 'NOT_SERVING', [AUTHZ_SERVICE]: 'NOT_SERVING', [EXT_PROC_SERVICE]: 'SERVING' });
  store.on('loaded', ({ revision, source }) => {
    logger.info('bundle loaded', { source, revision });
    health.setStatus('', 'SERVING');
    health.setStatus(AUTHZ_SERVICE, 'SERVING');
  });
  store.on('load_error', ({ source, error }) => {
    logger.error('bundle refused; the last good bundle keeps serving', {
      code: 'bundle_load_error',
      source,
      reason: (error as Error).message,
      serving: store.engine?.revision ?? null,
    });
  });

  const scripts = new ScriptStore(config.extproc);
  if (metrics) {
    scripts.on('loaded', ({ name }) => metrics.scriptLoaded(name, true));
    scripts.on('load_error', ({ name }) => metrics.scriptLoaded(name, false));
  }
  scripts.on('loaded', ({ name, file }) => logger.info('script loaded', { script: name, file }));
  scripts.on('load_error', ({ name, file, error }) =>
    logger.error('script refused; the previous version keeps serving', { code: 'script_load_error', script: name, file, reason: (error as Error).message }),
  );

  const authorizer = new Authorizer(store, config, logger, { metrics, decisionLog, tracing });
  const grpcServer = new grpc.Server({
    'grpc.max_receive_message_length': config.server.max_receive_message_bytes,
    // We serve no channelz service; its per-call bookkeeping would be pure cost on the hot path.
    'grpc.enable_channelz': 0,
  });
  grpcServer.addService(authzServiceDefinition(), authzHandlers(authorizer));
  grpcServer.addService(extProcServiceDefinition(), extProcHandlers({ scripts, config: config.extproc, logger, metrics, tracing }));
  health.addToServer(grpcServer);

  const tls = await startTls(config, logger);
  const grpcPort = await bindGrpc(grpcServer, config.server.addr, tls?.credentials() ?? grpc.ServerCredentials.createInsecure());
  let http: HttpServer;
  try {
    http = await startHttp(config, store, scripts, metrics, logger);
  } catch (err) {
    grpcServer.forceShutdown();
    throw err;
  }
  const httpPort = (http.address() as AddressInfo).port;
  logger.info('listening', { grpc: grpcPort, http: httpPort, bundle: config.bundle.path, grpc_tls: !tls ? 'off' : tls.config.client_ca_file ? 'mtls' : 'tls' });

  await Promise.all([config.bundle.path ? store.reload() : undefined, scripts.reload()]);
  if (config.bundle.path && config.bundle.poll_interval_ms > 0) store.watch(config.bundle.poll_interval_ms);
  if (config.extproc.poll_interval_ms > 0) scripts.watch(config.extproc.poll_interval_ms);

  return {
    grpcPort,
    httpPort,
    store,
    scripts,
    metrics,
    close: async () => {
      store.unwatch();
      scripts.unwatch();
      tls?.unwatch();
      await new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await telemetry.close();
    },
  };
}
