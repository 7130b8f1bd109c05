/**
 * OPA-compatible decision logs: one JSON line per Check, with the fields
 * OPA's decision logger writes (decision_id, path, input, result, bundles,
 * timestamp, metrics, labels, erased, masked), so OPA's tools and the replay
 * command read them. The hot path only pushes a small record on a bounded
 * queue; masking, serialisation and I/O happen later, off the decision.
 * https://www.openpolicyagent.org/docs/latest/management-decision-logs/
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { stringifyWithRaw } from '../json/raw-json.js';

/** OPA's mask rule: a JSON pointer to erase, or an upsert of a value at a pointer. */
export type MaskRule = string | { readonly op: 'remove' | 'upsert'; readonly path: string; readonly value?: unknown };

/** OPA's default in iacdash: credentials never reach the log. */
export const DEFAULT_MASKS: readonly string[] = [
  '/input/attributes/request/http/headers/authorization',
  '/input/attributes/request/http/headers/cookie',
  '/input/attributes/request/http/headers/x-api-key',
];

/** What the hot path records: no formatting, no copies. */
export interface DecisionRecord {
  readonly decisionId: string;
  readonly path: string;
  readonly input: unknown;
  /** Absent when the decision is undefined or failed. */
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
  readonly revision?: string;
  /** performance.timeOrigin + performance.now() at the decision, in ms. */
  readonly wallMs: number;
  readonly evalNs?: number;
  readonly handlerNs: number;
  /** The Check's span, when tracing is on: `trace_id` and `span_id` as OPA writes them. */
  readonly trace?: { readonly traceId: string; readonly spanId: string; readonly traceFlags?: number } | undefined;
}

/** Where the lines go. `write` resolves when the lines are handed over; a rejection drops them. */
export interface DecisionSink {
  /** `records[i]` is the record `lines[i]` was formatted from (the OTLP sink reads its ids and time). */
  write(lines: readonly string[], records: readonly DecisionRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Options of {@link DecisionLogger}. */
export interface DecisionLoggerOptions {
  readonly sink: DecisionSink;
  /** Most entries waiting for the sink; more are dropped. */
  readonly queueSize: number;
  readonly masks?: readonly MaskRule[];
  /** The bundle's name in `bundles`. */
  readonly bundleName: string;
  /** `labels.version`. */
  readonly version: string;
  /** `labels.id`; a fresh UUID per process by default. */
  readonly instanceId?: string;
  readonly onDropped?: (n: number) => void;
  readonly onWritten?: (n: number) => void;
  /** How long close() waits for a write in flight; a stuck sink is given up on. */
  readonly closeTimeoutMs?: number;
}

/** Bounded, asynchronous decision logger. */
export class DecisionLogger {
  private queue: DecisionRecord[] = [];
  private inFlight = false;
  private current: Promise<void> | undefined;
  private scheduled = false;
  private closed = false;
  private readonly labels: { id: string; version: string };
  private readonly masks: readonly MaskRule[];

  constructor(private readonly opts: DecisionLoggerOptions) {
    this.labels = { id: opts.instanceId ?? randomUUID(), version: opts.version };
    this.masks = opts.masks ?? DEFAULT_MASKS;
  }

  /** Queues one record; never waits. Returns false when it was dropped. */
  log(record: DecisionRecord): boolean {
    if (this.closed || this.queue.length >= this.opts.queueSize) {
      this.opts.onDropped?.(1);
      return false;
    }
    this.queue.push(record);
    if (!this.inFlight && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Entries waiting for the sink. */
  get pending(): number {
    return this.queue.length;
  }

  /** Formats one record as OPA does (exported for tests and the replay command). */
  format(record: DecisionRecord): string {
    const entry: Record<string, unknown> = {
      decision_id: record.decisionId,
      path: record.path,
      input: record.input,
      labels: this.labels,
    };
    if (record.result !== undefined) entry['result'] = record.result;
    if (record.error) entry['error'] = record.error;
    if (record.revision !== undefined) entry['bundles'] = { [this.opts.bundleName]: { revision: record.revision } };
    entry['timestamp'] = rfc3339Nano(record.wallMs);
    entry['metrics'] = record.evalNs === undefined
      ? { timer_server_handler_ns: record.handlerNs }
      : { timer_rego_query_eval_ns: record.evalNs, timer_server_handler_ns: record.handlerNs };
    if (record.trace) {
      entry['trace_id'] = record.trace.traceId;
      entry['span_id'] = record.trace.spanId;
    }
    applyMasks(entry, this.masks);
    return `${stringifyWithRaw(entry)}\n`;
  }

  private flush(): void {
    this.scheduled = false;
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = true;
    let lines: string[];
    try {
      lines = batch.map((r) => this.format(r));
    } catch {
      this.inFlight = false;
      this.opts.onDropped?.(batch.length);
      return;
    }
    this.current = this.opts.sink.write(lines, batch).then(
      () => this.opts.onWritten?.(lines.length),
      () => this.opts.onDropped?.(lines.length),
    ).finally(() => {
      this.inFlight = false;
      this.current = undefined;
      if (this.queue.length > 0) this.flush();
    });
  }

  /**
   * Stops taking entries, writes what is queued (batch after batch behind a
   * write in flight), then closes the sink. Past `closeTimeoutMs` a stuck
   * sink is given up on and what is left is dropped and counted.
   */
  async close(): Promise<void> {
    this.closed = true;
    const deadline = Date.now() + (this.opts.closeTimeoutMs ?? 1000);
    while (this.queue.length > 0 || this.current) {
      if (!this.inFlight) this.flush();
      const current = this.current;
      if (!current) break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([current.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, left, false)))]);
      clearTimeout(timer);
      if (!done) break;
    }
    if (this.queue.length > 0) {
      this.opts.onDropped?.(this.queue.length);
      this.queue = [];
    }
    await this.opts.sink.close();
  }
}

/**
 * Go's time.RFC3339Nano: UTC, nine fraction digits without trailing zeros.
 * A double of epoch ms holds about a quarter µs, so the fraction is rounded to µs.
 */
export function rfc3339Nano(wallMs: number): string {
  const ms = Math.floor(wallMs);
  const iso = new Date(ms).toISOString(); // 2026-01-02T03:04:05.678Z
  const micros = Math.min(999, Math.round((wallMs - ms) * 1000));
  const nanos = (ms % 1000) * 1_000_000 + micros * 1000;
  const frac = String(nanos).padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function unescapePointer(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/**
 * Applies OPA mask rules to `entry`, copying each object on a rule's path
 * first (the input is shared with nothing else, but copying keeps the
 * record intact). Records `erased` / `masked` as OPA does.
 */
export function applyMasks(entry: Record<string, unknown>, rules: readonly MaskRule[]): void {
  const erased: string[] = [];
  const masked: string[] = [];
  for (const rule of rules) {
    const { op, path, value } = typeof rule === 'string' ? { op: 'remove' as const, path: rule, value: undefined } : rule;
    const tokens = path.split('/').slice(1).map(unescapePointer);
    const last = tokens.pop();
    if (last === undefined || (tokens[0] !== 'input' && tokens[0] !== 'result' && !(tokens.length === 0 && (last === 'input' || last === 'result')))) continue;
    let parent: Record<string, unknown> | undefined = entry;
    for (const token of tokens) {
      const child: unknown = parent[token];
      if (!isPlainObject(child)) {
        parent = undefined;
        break;
      }
      const copy: Record<string, unknown> = { ...child };
      parent[token] = copy;
      parent = copy;
    }
    if (!parent) continue;
    if (op === 'remove') {
      if (Object.hasOwn(parent, last)) {
        delete parent[last];
        erased.push(path);
      }
    } else {
      parent[last] = value;
      masked.push(path);
    }
  }
  if (erased.length > 0) entry['erased'] = erased;
  if (masked.length > 0) entry['masked'] = masked;
}

/** Lines to stdout; a write waits for the stream to take it. */
export class StdoutSink implements DecisionSink {
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}
  write(lines: readonly string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.write(lines.join(''), (err) => (err ? reject(err) : resolve()));
    });
  }
  async close(): Promise<void> {}
}

/**
 * Lines to a file, rotated by size: when the next line would take the file
 * past `maxBytes`, `file` becomes `file.1`, `file.1` becomes `file.2`, …,
 * and only `maxFiles` rotated files are kept.
 */
export class RotatingFileSink implements DecisionSink {
  private stream: WriteStream | undefined;
  private size = -1;

  constructor(
    private readonly file: string,
    private readonly maxBytes: number,
    private readonly maxFiles: number,
  ) {}

  async write(lines: readonly string[]): Promise<void> {
    if (this.size < 0) this.size = await stat(this.file).then((s) => s.size, () => 0);
    let chunk = '';
    let chunkBytes = 0;
    for (const line of lines) {
      const bytes = Buffer.byteLength(line);
      if (this.size + chunkBytes + bytes > this.maxBytes && this.size + chunkBytes > 0) {
        await this.append(chunk);
        await this.rotate();
        chunk = '';
        chunkBytes = 0;
      }
      chunk += line;
      chunkBytes += bytes;
    }
    await this.append(chunk);
    this.size += chunkBytes;
  }

  private append(chunk: string): Promise<void> {
    if (chunk === '') return Promise.resolve();
    if (!this.stream) {
      const created = createWriteStream(this.file, { flags: 'a' });
      // The write callback reports the error; without a listener it would crash the process. Reopen on the next write.
      created.on('error', () => {
        if (this.stream === created) {
          this.stream = undefined;
          this.size = -1;
        }
      });
      this.stream = created;
    }
    const stream = this.stream;
    return new Promise((resolve, reject) => stream.write(chunk, (err) => (err ? reject(err) : resolve())));
  }

  private async rotate(): Promise<void> {
    await this.closeStream();
    await rm(`${this.file}.${this.maxFiles}`, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      await rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch(() => undefined);
    }
    if (this.maxFiles >= 1) await rename(this.file, `${this.file}.1`);
    else await rm(this.file, { force: true });
    this.size = 0;
  }

  private closeStream(): Promise<void> {
    const stream = this.stream;
    this.stream = undefined;
    return stream ? new Promise((resolve) => stream.end(() => resolve())) : Promise.resolve();
  }

  close(): Promise<void> {
    return this.closeStream();
  }
}
