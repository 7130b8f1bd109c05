/**
 * JSON-lines logger on stderr. Calls below the level cost one comparison;
 * callers guard expensive fields with `logger.enabled(level)`. Header values
 * named in `log.mask_headers` are masked wherever a headers object is
 * logged through {@link maskHeaders}.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A write target; stderr by default, an array in tests. */
export type LogSink = (line: string) => void;

/** Structured logger. */
export class Logger {
  private readonly threshold: number;
  private readonly masked: ReadonlySet<string>;

  constructor(
    level: LogLevel = 'info',
    maskHeaderNames: readonly string[] = ['authorization', 'cookie'],
    private readonly sink: LogSink = (line) => process.stderr.write(line),
  ) {
    this.threshold = RANK[level];
    this.masked = new Set(maskHeaderNames.map((h) => h.toLowerCase()));
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.threshold;
  }

  /** Copy of `headers` with masked values replaced; use it for anything logged. */
  maskHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (!headers) return headers;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(headers)) out[key] = this.masked.has(key.toLowerCase()) ? '***' : headers[key];
    return out;
  }

  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] < this.threshold) return;
    const entry = { level, time: new Date().toISOString(), msg, ...fields };
    this.sink(`${JSON.stringify(entry, errorReplacer)}\n`);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.log('error', msg, fields);
  }
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}
