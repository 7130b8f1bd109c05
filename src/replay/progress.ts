/** A one-line progress bar for a terminal's stderr; nothing is drawn when stderr is not a TTY. */
import type { ReplayProgress } from './replay.js';

const WIDTH = 30;

/** The bar's text for one progress report (pure, for tests). */
export function progressLine(p: ReplayProgress): string {
  const rate = p.elapsedMs > 0 ? Math.round((p.entries / p.elapsedMs) * 1000) : 0;
  const counts = `${p.entries.toLocaleString('en-US')} decisions, ${p.flips.toLocaleString('en-US')} flips, ${rate.toLocaleString('en-US')}/s`;
  if (p.totalBytes === undefined || p.totalBytes === 0) return `replay: ${counts}`;
  const done = Math.min(1, p.bytesRead / p.totalBytes);
  const filled = Math.round(done * WIDTH);
  return `replay: [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${(done * 100).toFixed(0).padStart(3)}%  ${counts}`;
}

/** Draws on `stream` when it is a TTY; `done()` clears the line. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): { update(p: ReplayProgress): void; done(): void } | undefined {
  if (!stream.isTTY) return undefined;
  return {
    update: (p) => void stream.write(`\r${progressLine(p).slice(0, (stream.columns ?? 100) - 1)}\x1b[K`),
    done: () => void stream.write('\r\x1b[K'),
  };
}
