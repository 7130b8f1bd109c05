/**
 * The `iacdash` command line. Each command loads its modules when it runs:
 * the server and gRPC stack cost about a second of start-up that `test`,
 * `init` or `build` should not pay.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type ConfigOverrides } from '../config/load.js';
import { isIacdashError } from '../errors.js';
import { Logger } from '../telemetry/log.js';
import { ToolMissingError } from '../tools/locate.js';
import { buildBundle, DEFAULT_ENTRYPOINT } from './build.js';
import { UsageError } from './usage-error.js';

const USAGE = `iacdash: policy and transformation sidecar for Envoy and Istio

Usage:
  iacdash build [DIR...] -o BUNDLE.tar.gz [-e ENTRYPOINT]... [--ignore PATTERN]... [--revision REV]
      Compile Rego to a wasm bundle with \`opa build -t wasm\` (default entrypoint ${DEFAULT_ENTRYPOINT}),
      and record in its manifest the input paths the policy reads.
  iacdash serve [--config FILE] [--bundle PATH] [--addr HOST:PORT] [--http-addr HOST:PORT]
      Serve envoy.service.auth.v3.Authorization/Check and grpc.health.v1 (default :9191),
      and /health and /ready over HTTP (default :8181).
  iacdash check-config [--config FILE] [--bundle PATH]
      Validate the config and load the bundle with the production loader, then exit.
  iacdash eval --bundle PATH --request CHECK.json [--config FILE] [--explain]
      Print the CheckResponse for one CheckRequest (protojson), and the policy input with --explain.
  iacdash eval --lua SCRIPT.lua --request FIXTURE.yaml [--phase request|response] [--explain]
      Run a Lua fixture's request and/or response through a script: header and body changes, local reply, logs.
  iacdash eval --wasm FILTER.wasm --request FIXTURE.json [--config JSON|FILE] [--explain]
      Run a wasm fixture's request through a proxy-wasm filter in the local host: continue or local reply, changes, logs.
      (--bundle, --lua or --wasm picks the engine; --engine authz|lua|wasm names it too.)
  iacdash replay --bundle CANDIDATE.tar.gz [--path PATH] [--format table|json] [--max-flips N | --threshold N|P%] DECISION_LOG...
      Re-evaluate logged decisions (OPA decision-log JSON lines; .gz or - for stdin) against a candidate bundle
      and report the decisions that would flip; exit 1 when flips exceed the threshold.
  iacdash test [PATH...] [--reporter tap|junit] [--watch]
      Run a policy project's tests (default: this folder): Rego through \`opa test\`, Lua and wasm filter
      fixtures, request fixtures against the bundle built from policies/; exit 1 on any failure or error.
  iacdash init DIR
      Write a new policy project that passes \`iacdash test\`: a policy, a Lua script, a filter fixture, request fixtures.
`;

const COMMON = {
  config: { type: 'string' as const, short: 'c' },
  bundle: { type: 'string' as const, short: 'b' },
  addr: { type: 'string' as const },
  'http-addr': { type: 'string' as const },
  help: { type: 'boolean' as const, short: 'h' },
} satisfies ParseArgsConfig['options'];

function overridesOf(values: Record<string, unknown>): ConfigOverrides {
  return {
    bundle: values['bundle'] as string | undefined,
    addr: values['addr'] as string | undefined,
    httpAddr: values['http-addr'] as string | undefined,
  };
}

async function serve(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: COMMON, strict: true });
  const config = loadConfig(values['config'] as string | undefined, overridesOf(values));
  const logger = new Logger(config.log.level, config.log.mask_headers);
  // The process stays up: a stray exception is logged, never fatal.
  process.on('uncaughtException', (err) => logger.error('uncaught exception', { error: err.stack ?? String(err) }));
  process.on('unhandledRejection', (err) => logger.error('unhandled rejection', { error: String(err) }));
  const { startServer } = await import('../server/server.js');
  const server = await startServer(config, logger);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('shutting down', { signal });
      void server.close().then(resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

async function checkConfig(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: COMMON, strict: true });
  const config = loadConfig(values['config'] as string | undefined, overridesOf(values));
  const source = (values['config'] as string | undefined) ?? '(defaults)';
  if (!config.bundle.path) {
    process.stdout.write(`${source}: ok (no bundle.path to check)\n`);
    return 0;
  }
  const [{ readFileSync }, { readBundle }, { PolicyEngine }, { entrypointOf }] = await Promise.all([
    import('node:fs'),
    import('../policy/bundle.js'),
    import('../policy/engine.js'),
    import('../authz/authorizer.js'),
  ]);
  const entrypoint = entrypointOf(config.authz.path);
  const engine = PolicyEngine.create(readBundle(readFileSync(config.bundle.path), entrypoint), {
    entrypoint,
    maxMemoryBytes: config.limits.policy_memory_bytes,
    strictBuiltinErrors: config.authz.strict_builtin_errors,
  });
  process.stdout.write(`${source}: ok; bundle ${config.bundle.path}: ok (entrypoint ${entrypoint}, revision ${JSON.stringify(engine.revision)})\n`);
  return 0;
}

function build(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      entrypoint: { type: 'string', short: 'e', multiple: true },
      ignore: { type: 'string', multiple: true },
      revision: { type: 'string' },
    },
  });
  if (!values.output) throw new UsageError('build: -o BUNDLE.tar.gz is required');
  return buildBundle({ dirs: positionals, output: values.output, entrypoints: values.entrypoint ?? [], ignore: values.ignore ?? [], ...(values.revision !== undefined ? { revision: values.revision } : {}) });
}

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  build,
  serve,
  'check-config': checkConfig,
  eval: async (args) => (await import('./eval.js')).evalCli(args),
  replay: async (args) => (await import('./replay.js')).replayCli(args),
  test: async (args) => (await import('./test.js')).testCli(args),
  init: async (args) => (await import('./init.js')).initCli(args),
};

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`iacdash: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`iacdash ${command}: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (isIacdashError(err) || err instanceof ToolMissingError) {
      process.stderr.write(`iacdash ${command}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`iacdash ${command}: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}
