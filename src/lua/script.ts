/**
 * A compiled script: parsed once and checked once (top level run in
 * throwaway globals, as Envoy checks a script at load), then run by every
 * stream in one shared state whose top level ran once (see state.ts).
 */
import { toLua } from './fengari.js';
import { compileChunk, lineOf, loadState, ScriptStates } from './state.js';
import { LuaStream } from './stream.js';
import { LuaCompileError, resolveLimits, type LuaLimits, type Phase, type StreamContext } from './types.js';

/** Options of {@link LuaScript.newStream}. */
export interface NewStreamOptions {
  /**
   * Private globals for this stream: the top level runs again for it alone,
   * and nothing it does is seen by other streams (fixtures use this, so each
   * fixture is a first request). Default false: the script's shared state.
   */
  isolated?: boolean;
}

/** A script compiled for one set of limits. */
export class LuaScript {
  private constructor(
    private readonly states: ScriptStates,
    private readonly entries: ReadonlySet<Phase>,
    /** The script's name, as it appears in Lua messages ("name:line: …"). */
    readonly name: string,
    /** The limits the script runs under. */
    readonly limits: LuaLimits,
  ) {}

  /**
   * Parses the source and runs its top-level code once in throwaway globals,
   * as Envoy does when it loads a script. Throws LuaCompileError naming the
   * file and line for a syntax error, or for top-level code that fails or
   * overruns its budget.
   */
  static compile(source: string | Uint8Array, name: string, limits: Partial<LuaLimits> = {}): LuaScript {
    const resolved = resolveLimits(limits);
    // A copy: the caller's buffer may change, and a VM fengari broke is compiled again from it.
    const bytes = typeof source === 'string' ? toLua(source) : Uint8Array.from(source);
    const chunk = compileChunk(bytes, name, resolved);
    const probe = loadState(chunk, {});
    if (!probe.ok) throw new LuaCompileError(name, lineOf(probe.message, name), probe.message, probe.code);
    const entries = new Set(Object.keys(probe.state.entries) as Phase[]);
    return new LuaScript(new ScriptStates(chunk, bytes), entries, name, resolved);
  }

  /** Whether the script defines envoy_on_request / envoy_on_response (so a transport can skip a phase). */
  has(fn: 'envoy_on_request' | 'envoy_on_response'): boolean {
    return this.entries.has(fn === 'envoy_on_request' ? 'request' : 'response');
  }

  /**
   * A new per-request run. It joins the script's shared state at its first
   * phase (building it then, top level included, if there is none) and keeps
   * that state for both phases.
   */
  newStream(ctx: StreamContext = {}, opts: NewStreamOptions = {}): LuaStream {
    return new LuaStream(this.states, ctx, opts.isolated !== true);
  }

  /** How often the shared state was built (top level run) and retired after a violation, and how many VMs were compiled. */
  get stateCounts(): Readonly<{ builds: number; retired: number; vms: number }> {
    return this.states.counts;
  }
}
