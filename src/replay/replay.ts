/**
 * Streams decision logs through a candidate bundle. Lines are read one at a
 * time (readline over a file stream, gunzipped when the file is gzip) and
 * evaluated synchronously in the line handler, so the stream reads its next
 * chunk only after the current one is done: memory stays bounded whatever
 * the log's length. Only counters and a few examples are kept.
 */
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { entrypointOf } from '../authz/authorizer.js';
import { BundleError, readBundle } from '../policy/bundle.js';
import { PolicyEngine } from '../policy/engine.js';
import { parseLogLine, requestSummary } from './log-entry.js';
import { candidateOutcome, compareOutcomes, recordedOutcome, type Outcome } from './outcome.js';
import { ReplayReport } from './report.js';

/** Progress, reported about ten times a second. */
export interface ReplayProgress {
  readonly bytesRead: number;
  /** Sum of the files' sizes; undefined when reading stdin. */
  readonly totalBytes: number | undefined;
  readonly entries: number;
  readonly flips: number;
  readonly badLines: number;
  readonly elapsedMs: number;
}

/** Options of {@link replay}. */
export interface ReplayOptions {
  /** The candidate bundle's bytes (`opa build -t wasm`). */
  readonly bundle: Buffer;
  /** Decision-log files; `-` reads stdin. `.gz` (or gzip content) is decompressed. */
  readonly files: readonly string[];
  /** Evaluate every entry here instead of at its own `path`. */
  readonly path?: string | undefined;
  /** For entries without a `path`. */
  readonly defaultPath: string;
  readonly maxMemoryBytes: number;
  readonly strictBuiltinErrors: boolean;
  readonly examplesPerGroup?: number;
  readonly onProgress?: (p: ReplayProgress) => void;
}


/** Compiles the candidate lazily, once per path; a path the bundle lacks evaluates to an error, like a server configured with it would. */
class Candidate {
  private readonly engines = new Map<string, PolicyEngine | Outcome>();

  constructor(
    private readonly bundle: Buffer,
    private readonly opts: Pick<ReplayOptions, 'maxMemoryBytes' | 'strictBuiltinErrors'>,
  ) {}

  /** The revision, and a check that the bundle is one we can load at all. */
  open(path: string, required: boolean): string {
    try {
      return readBundle(this.bundle, path).revision;
    } catch (err) {
      if (!required && err instanceof BundleError && err.message.startsWith('has no entrypoint')) return '';
      throw err;
    }
  }

  evaluate(path: string, inputText: string): Outcome {
    let engine = this.engines.get(path);
    if (engine === undefined) {
      try {
        engine = PolicyEngine.create(readBundle(this.bundle, path), { entrypoint: path, ...this.opts });
      } catch (err) {
        if (!(err instanceof BundleError)) throw err;
        engine = { kind: 'error', code: 'bundle_load_error', message: `the candidate ${err.message}` };
      }
      this.engines.set(path, engine);
    }
    if (!(engine instanceof PolicyEngine)) return engine;
    try {
      return candidateOutcome(engine.evaluate(inputText));
    } catch (err) {
      return { kind: 'error', code: 'eval_error', message: (err as Error).message };
    }
  }
}

function isGzip(file: string): boolean {
  if (file.endsWith('.gz')) return true;
  const fd = openSync(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** Calls `onLine` for each line of `file`, synchronously, in order; `onBytes` with each raw chunk's size. */
function eachLine(file: string, onLine: (line: string, n: number) => void, onBytes: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const raw: Readable = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 256 * 1024 });
    raw.on('data', (chunk: Buffer | string) => onBytes(chunk.length));
    let input: Readable = raw;
    const fail = (err: Error): void => reject(new Error(`${file === '-' ? '(stdin)' : file}: ${err.message}`));
    raw.on('error', fail);
    if (file !== '-' && isGzip(file)) {
      const gunzip = createGunzip();
      gunzip.on('error', fail);
      input = raw.pipe(gunzip);
    }
    const rl = createInterface({ input, crlfDelay: Infinity });
    rl.on('error', fail); // readline re-emits its input's errors (a corrupt gzip)
    let n = 0;
    rl.on('line', (line) => {
      n++;
      try {
        onLine(line, n);
      } catch (err) {
        rl.close();
        raw.destroy();
        reject(err);
      }
    });
    rl.on('close', () => resolve());
  });
}

/** Replays every entry of `opts.files` against the candidate; throws only for a missing file or an unusable bundle. */
export async function replay(opts: ReplayOptions): Promise<{ report: ReplayReport; revision: string }> {
  for (const f of opts.files) {
    if (f === '-') continue;
    try {
      if (!statSync(f).isFile()) throw new Error(`${f}: not a file`);
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Error(`${f}: no such file`) : err;
    }
  }
  const candidate = new Candidate(opts.bundle, opts);
  const override = opts.path === undefined ? undefined : entrypointOf(opts.path);
  const revision = candidate.open(override ?? entrypointOf(opts.defaultPath), override !== undefined);
  const report = new ReplayReport(opts.examplesPerGroup ?? 3);
  const totalBytes = opts.files.includes('-') ? undefined : opts.files.reduce((sum, f) => sum + statSync(f).size, 0);
  const started = performance.now();
  let bytesRead = 0;
  let lastProgress = started;
  const progress = (): void => {
    opts.onProgress?.({ bytesRead, totalBytes, entries: report.entries, flips: report.flips, badLines: report.badLines, elapsedMs: performance.now() - started });
  };
  for (const file of opts.files) {
    const name = file === '-' ? '(stdin)' : file;
    await eachLine(
      file,
      (line, n) => {
        if (line.trim() === '') return;
        const parsed = parseLogLine(line);
        if (!parsed.ok) return report.bad(name, n, parsed.reason);
        const e = parsed.entry;
        const path = override ?? (e.path ? entrypointOf(e.path) : entrypointOf(opts.defaultPath));
        report.entry(path, e.masked, e.revisions);
        const flip = compareOutcomes(recordedOutcome(e.result, e.error), candidate.evaluate(path, e.inputText));
        if (flip) report.flip(path, flip, e.decisionId, requestSummary(e.input), e.masked.length > 0);
        if (opts.onProgress && (report.entries & 1023) === 0) {
          const now = performance.now();
          if (now - lastProgress >= 100) {
            lastProgress = now;
            progress();
          }
        }
      },
      (bytes) => (bytesRead += bytes),
    );
  }
  report.elapsedMs = performance.now() - started;
  progress();
  return { report, revision };
}
