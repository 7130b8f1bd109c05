/**
 * What the bundle store and the script store share: one load at a time (a
 * poll that lands mid-load waits for it), and an unref'd poll timer that
 * never keeps the process alive.
 */
import { EventEmitter } from 'node:events';

/** A source of state that is reloaded from disk, all at once or not at all. */
export abstract class HotReloadable<R> extends EventEmitter {
  private timer: NodeJS.Timeout | undefined;
  private loading: Promise<R> | undefined;

  /** Loads whatever changed; must not throw (failures are events). */
  protected abstract loadOnce(): Promise<R>;

  /** Reloads now, or joins the load in progress. */
  reload(): Promise<R> {
    this.loading ??= this.loadOnce().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Reloads every `intervalMs`. */
  watch(intervalMs: number): void {
    this.unwatch();
    this.timer = setInterval(() => void this.reload(), intervalMs);
    this.timer.unref();
  }

  unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
