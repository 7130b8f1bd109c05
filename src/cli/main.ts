/** The `iacdash` command line. */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type ConfigOverrides } from '../config/load.js';
import { isIacdashError } from '../errors.js';
import { readBundle } from '../policy/bundle.js';
import { PolicyEngine } from '../policy/engine.js';
import { entrypointOf } from '../authz/index.js';
import { startServer } from '../server/server.js';
import { Logger } from '../telemetry/log.js';
import { ToolMissingError } from '../tools/locate.js';
import { buildBundle, DEFAULT_ENTRYPOINT } from './build.js';
import { evalCommand } from './eval.js';

const USAGE = `iacdash: policy and transformation sidecar for Envoy and Istio

Usage:
  iacdash build [DIR...] -o BUNDLE.tar.gz [-e ENTRYPOINT]... [--ignore PATTERN]...
      Compile Rego to a wasm bundle with \`opa build -t wasm\` (default entrypoint ${DEFAULT_ENTRYPOINT}).
  iacdash serve [--config FILE] [--bundle PATH] [--addr HOST:PORT] [--http-addr HOST:PORT]
      Serve envoy.service.auth.v3.Authorization/Check and grpc.health.v1 (default :9191),
      and /health and /ready over HTTP (default :8181).
  iacdash check-config [--config FILE] [--bundle PATH]
      Validate the config and load the bundle with the production loader, then exit.
  iacdash eval --bundle PATH --request CHECK.json [--config FILE] [--explain-input]
      Print the CheckResponse for one CheckRequest (protojson), and the policy input with --explain-input.
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

function checkConfig(args: string[]): number {
  const { values } = parseArgs({ args, options: COMMON, strict: true });
  const config = loadConfig(values['config'] as string | undefined, overridesOf(values));
  const source = (values['config'] as string | undefined) ?? '(defaults)';
  if (!config.bundle.path) {
    process.stdout.write(`${source}: ok (no bundle.path to check)\n`);
    return 0;
  }
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
    },
  });
  if (!values.output) throw new UsageError('build: -o BUNDLE.tar.gz is required');
  return buildBundle({ dirs: positionals, output: values.output, entrypoints: values.entrypoint ?? [], ignore: values.ignore ?? [] });
}

async function evaluate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...COMMON, request: { type: 'string', short: 'r' }, 'explain-input': { type: 'boolean' } },
    strict: true,
  });
  if (!values['request']) throw new UsageError('eval: --request CHECK.json is required');
  const config = loadConfig(values['config'] as string | undefined, overridesOf(values));
  const out = await evalCommand(config, values['request'] as string, Boolean(values['explain-input']));
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}

class UsageError extends Error {}

const COMMANDS: Record<string, (args: string[]) => number | Promise<number>> = {
  build,
  serve,
  'check-config': checkConfig,
  eval: evaluate,
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
