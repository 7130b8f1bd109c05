/**
 * Request-level fixtures, evaluated as the sidecar would: the project's
 * `policies/` built with real `opa build -t wasm` (the same build as
 * `iacdash build`), loaded by the production store, and each CheckRequest
 * decided by the transport-neutral Authorizer. The optional project
 * `iacdash.yaml` supplies authz and limits settings.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Authorizer, entrypointOf } from '../authz/index.js';
import { buildBundle } from '../cli/build.js';
import { readCheckRequest } from '../cli/eval.js';
import { loadConfig, parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createPolicyStore } from '../server/server.js';
import { Logger } from '../telemetry/log.js';
import { display } from './display.js';
import { expectObject, readData } from './read-data.js';
import { answerOf, compareAnswer, parseRequestFixture } from './request-fixture.js';
import type { CaseResult, DetailLine } from './types.js';

const notes = (message: string): DetailLine[] => message.trimEnd().split('\n').map((text) => ({ kind: 'note', text }));

function errorCase(fixture: string, message: string, name = ''): CaseResult {
  return { kind: 'request', file: display(fixture), name, status: 'error', details: notes(message), durationMs: 0 };
}

/** A built and loaded policy, or why there is none. */
type Prepared = { ok: true; config: Config; authorizer: Authorizer; logs: string[] } | { ok: false; message: string };

async function prepare(regoRoot: string | undefined, configFile: string | undefined, work: string): Promise<Prepared> {
  if (regoRoot === undefined) return { ok: false, message: 'request fixtures need policies/ (the Rego to build the bundle from)' };
  const bundle = join(work, 'bundle.tar.gz');
  let config: Config;
  try {
    config = configFile ? loadConfig(configFile, { bundle }) : parseConfig('', '(defaults)', { bundle });
  } catch (err) {
    return { ok: false, message: (err as Error).message.replaceAll(configFile ?? '\0', display(configFile ?? '')) };
  }
  let diagnostics = '';
  let status: number;
  try {
    status = buildBundle({ dirs: [regoRoot], output: bundle, entrypoints: [entrypointOf(config.authz.path)], diagnostics: (t) => (diagnostics += t) });
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
  if (status !== 0) {
    const text = diagnostics.trim().replaceAll(`${regoRoot}/`, `${display(regoRoot)}/`);
    return { ok: false, message: `opa build -t wasm ${display(regoRoot)} failed (exit ${status}):\n${text}` };
  }
  const store = createPolicyStore(config);
  let loadError: unknown;
  store.on('load_error', ({ error }: { error: unknown }) => (loadError = error));
  await store.reload();
  if (!store.engine) return { ok: false, message: `the bundle built from ${display(regoRoot)} did not load: ${(loadError as Error | undefined)?.message ?? 'unknown error'}` };
  const logs: string[] = [];
  const authorizer = new Authorizer(store, config, new Logger('warn', config.log.mask_headers, (line) => logs.push(line.trimEnd())));
  return { ok: true, config, authorizer, logs };
}

function runOne(fixture: string, p: Extract<Prepared, { ok: true }>, work: string): CaseResult {
  const file = display(fixture);
  const start = performance.now();
  let name = '';
  try {
    const data = expectObject(readData(fixture, file), file);
    name = typeof data['description'] === 'string' ? data['description'] : '';
    const fx = parseRequestFixture(data, file);
    let decoded: ReturnType<typeof readCheckRequest>;
    if (typeof fx.request === 'string') {
      const path = resolve(dirname(fixture), fx.request);
      if (!existsSync(path)) throw new Error(`${file}: request: ${display(path)}: no such file`);
      decoded = readCheckRequest(path);
    } else {
      // readCheckRequest reads a file; the inline request goes through it too, so both read alike.
      const tmp = join(work, 'request.json');
      writeFileSync(tmp, JSON.stringify(fx.request));
      try {
        decoded = readCheckRequest(tmp);
      } catch (err) {
        throw new Error((err as Error).message.replace(/^[^:]*request\.json(:\d+:\d+)?/, `${file}: request`));
      }
    }
    p.logs.length = 0;
    const answer = answerOf(p.authorizer.check(decoded));
    const mismatches = compareAnswer(fx.expect, answer);
    const durationMs = performance.now() - start;
    if (mismatches.length === 0) return { kind: 'request', file, name, status: 'pass', details: [], durationMs };
    const context: DetailLine[] = [{ kind: 'note', text: `answer: ${JSON.stringify(answer)}` }, ...p.logs.map((text) => ({ kind: 'note' as const, text: `log: ${text}` }))];
    return { kind: 'request', file, name, status: 'fail', details: [...mismatches, ...context], durationMs };
  } catch (err) {
    return { ...errorCase(fixture, (err as Error).message, name), durationMs: performance.now() - start };
  }
}

/** Builds the project's bundle once and runs every request fixture against it. */
export async function runRequests(fixtures: readonly string[], regoRoot: string | undefined, configFile: string | undefined): Promise<CaseResult[]> {
  if (fixtures.length === 0) return [];
  const work = mkdtempSync(join(tmpdir(), 'iacdash-test-'));
  try {
    const prepared = await prepare(regoRoot, configFile, work);
    if (!prepared.ok) return fixtures.map((f) => errorCase(f, prepared.message));
    return fixtures.map((f) => runOne(f, prepared, work));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
