/**
 * Holds the active policy and swaps it atomically. A load is complete
 * (read, unpacked, compiled, instantiated, checked) before it replaces
 * anything, so a corrupt or incompatible bundle leaves the last good one
 * serving. Sources are pluggable: a file path now, a URL later.
 */
import { readFile, stat } from 'node:fs/promises';
import { readBundle } from './bundle.js';
import { PolicyEngine, type EngineOptions } from './engine.js';
import { HotReloadable } from '../server/hot-reload.js';

/** Where bundle bytes come from. */
export interface BundleSource {
  /** Shown in logs and errors. */
  readonly description: string;
  /** A cheap token that changes when the bundle may have changed (mtime+size for files). */
  version(): Promise<string>;
  read(): Promise<Buffer>;
}

/** A bundle file on disk; replaced atomically by whoever writes it (rename), or in place. */
export class FileBundleSource implements BundleSource {
  readonly description: string;
  constructor(readonly path: string) {
    this.description = path;
  }
  async version(): Promise<string> {
    const s = await stat(this.path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  }
  read(): Promise<Buffer> {
    return readFile(this.path);
  }
}

/** Events: `loaded` ({revision, source}), `load_error` ({source, error}). */
export class PolicyStore extends HotReloadable<boolean> {
  private current: PolicyEngine | undefined;
  private lastVersion: string | undefined;
  /** Counters, read by the health endpoint and metrics. */
  readonly counts = { loads: 0, loadErrors: 0 };

  constructor(
    private readonly source: BundleSource,
    private readonly engineOptions: EngineOptions,
  ) {
    super();
  }

  /** The active engine, or undefined before the first good load. */
  get engine(): PolicyEngine | undefined {
    return this.current;
  }

  /** Loads the bundle if its version changed; true when a new engine went live. */
  protected async loadOnce(): Promise<boolean> {
    let version: string;
    try {
      version = await this.source.version();
      if (version === this.lastVersion) return false;
      const bytes = await this.source.read();
      const engine = await PolicyEngine.load(readBundle(bytes, this.engineOptions.entrypoint), this.engineOptions);
      this.current = engine;
      this.lastVersion = version;
      this.counts.loads++;
      this.emit('loaded', { revision: engine.revision, source: this.source.description });
      return true;
    } catch (error) {
      this.counts.loadErrors++;
      // Remember a bad version too, so it is reported once, not every poll.
      this.lastVersion = await this.source.version().catch(() => undefined);
      this.emit('load_error', { source: this.source.description, error });
      return false;
    }
  }
}
