/**
 * The configured Lua scripts, compiled once and swapped atomically when a
 * file changes. A script that fails to compile is refused with its file and
 * line, and the version before it keeps serving. Each compiled version owns
 * its Lua state (the globals its streams share, as Envoy's worker state), so
 * the swap moves new streams to the new version's fresh state while streams
 * in flight finish in the old one.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Config } from '../config/schema.js';
import { LuaScript, resolveLimits, type LuaLimits } from '../lua/index.js';
import type { ScriptRule } from './select.js';
import { HotReloadable } from '../server/hot-reload.js';

/** One configured script and its live compiled version. */
interface Entry {
  readonly name: string;
  readonly file: string;
  readonly metadata: Record<string, unknown>;
  compiled: LuaScript | undefined;
  version: string | undefined;
}

/** The limits config as the Lua runtime wants them. */
export function luaLimitsOf(config: Config['extproc']): LuaLimits {
  const l = config.limits;
  return resolveLimits({ maxInstructions: l.max_instructions, maxMillis: l.max_millis, maxStringBytes: l.max_string_bytes, maxBodyBytes: l.max_body_bytes });
}

/** Events: `loaded` ({name, file}), `load_error` ({name, file, error}). */
export class ScriptStore extends HotReloadable<void> {
  private readonly entries = new Map<string, Entry>();
  readonly rules: readonly ScriptRule[];
  readonly counts = { loads: 0, loadErrors: 0 };

  constructor(
    config: Config['extproc'],
    private readonly limits: LuaLimits = luaLimitsOf(config),
  ) {
    super();
    for (const s of config.scripts) {
      this.entries.set(s.name, { name: s.name, file: s.file, metadata: s.metadata as Record<string, unknown>, compiled: undefined, version: undefined });
    }
    this.rules = config.scripts.map((s) => ({
      script: s.name,
      hosts: s.match.hosts,
      pathPrefix: s.match.path_prefix,
      methods: s.match.methods,
      attributes: s.match.attributes,
      metadata: s.match.metadata,
    }));
  }

  /** The compiled script and its route metadata, or undefined while it has never compiled. */
  get(name: string): { script: LuaScript; metadata: Record<string, unknown> } | undefined {
    const e = this.entries.get(name);
    return e?.compiled ? { script: e.compiled, metadata: e.metadata } : undefined;
  }

  /** True when every configured script has a compiled version. */
  get ready(): boolean {
    for (const e of this.entries.values()) if (!e.compiled) return false;
    return true;
  }


  /** Compiles every script whose file changed. */
  protected async loadOnce(): Promise<void> {
    for (const e of this.entries.values()) {
      let version: string | undefined;
      try {
        const s = await stat(e.file);
        version = `${s.mtimeMs}:${s.size}:${s.ino}`;
        if (version === e.version) continue;
        const source = await readFile(e.file, 'utf8');
        e.compiled = LuaScript.compile(source, e.file, this.limits);
        e.version = version;
        this.counts.loads++;
        this.emit('loaded', { name: e.name, file: e.file });
      } catch (error) {
        // Remember the bad version so it is reported once, not on every poll.
        e.version = version;
        this.counts.loadErrors++;
        this.emit('load_error', { name: e.name, file: e.file, error });
      }
    }
  }
}
