/**
 * Runs one OPA-compiled wasm policy with `@open-policy-agent/opa-wasm`, plus
 * our host builtins. The module is compiled once per bundle; an instance
 * that traps (stack or memory exhausted, an abort, a builtin error in
 * strict mode) is replaced by a fresh one, so one bad request cannot poison
 * the next.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm';
import type { Bundle } from './bundle.js';
import { BundleError } from './bundle.js';
import { pathTree, type PathTree } from '../json/prune.js';
import { createHostBuiltins } from './builtins/index.js';
import { NONDETERMINISTIC_BUILTINS } from './builtins/nondeterministic.js';

const require = createRequire(import.meta.url);
// The ESM entry of opa-wasm exports only loadPolicy; the CJS one has loadPolicySync too.
const opa = require('@open-policy-agent/opa-wasm') as typeof import('@open-policy-agent/opa-wasm');
/** Builtins that opa-wasm itself implements in JS (not exported by its package entry). */
const OPA_WASM_JS_BUILTINS: ReadonlySet<string> = new Set(
  Object.keys(require(join(dirname(require.resolve('@open-policy-agent/opa-wasm')), 'builtins', 'index.js')) as object),
);

const PAGE = 64 * 1024;

/** ABI 1.2's one-call evaluation: input bytes in memory, result JSON address out. */
type OpaEval = (reserved: number, entrypoint: number, dataAddr: number, inputAddr: number, inputLen: number, heapPtr: number, format: number) => number;

/** LoadedPolicy's fields (opa-wasm 1.10) that the direct path reads; not in its typings. */
interface PolicyInternals {
  readonly minorVersion: number;
  readonly dataAddr: number;
  readonly dataHeapPtr: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Options fixed for the engine's lifetime. */
export interface EngineOptions {
  readonly entrypoint: string;
  /** Upper bound of the policy's linear memory. */
  readonly maxMemoryBytes: number;
  /** OPA's `--strict-builtin-errors`: a failing builtin fails the evaluation instead of being undefined. */
  readonly strictBuiltinErrors: boolean;
  /** Told of builtin errors that non-strict mode turned into undefined. */
  readonly onBuiltinError?: (error: Error) => void;
}

function compileError(err: unknown): never {
  throw new BundleError(`policy.wasm does not compile: ${(err as Error).message}`);
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Names of the builtins the module will ask its host for. */
function hostBuiltinsNeeded(policy: LoadedPolicy): string[] {
  const exports = (policy.wasmInstance as WebAssembly.Instance).exports as Record<string, (...a: number[]) => number>;
  const addr = exports['opa_json_dump']!(exports['builtins']!());
  const bytes = new Uint8Array(policy.mem.buffer);
  let end = addr;
  while (bytes[end] !== 0) end++;
  return Object.keys(JSON.parse(Buffer.from(bytes.subarray(addr, end)).toString('utf8')) as object);
}

/** A compiled policy ready to evaluate inputs. */
export class PolicyEngine {
  private policy: LoadedPolicy;
  /** opa_eval of the current instance, or undefined before ABI 1.2 (opa-wasm's own path then). */
  private opaEval: OpaEval | undefined;
  private readonly entrypointId: number;
  /** The non-deterministic builtins the policy calls (OPA's list); empty when its answer depends only on input and data. */
  readonly nondeterministicBuiltins: readonly string[];

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly data: ArrayBuffer,
    private readonly builtins: Record<string, (...args: any[]) => unknown>,
    private readonly memory: WebAssembly.MemoryDescriptor,
    readonly revision: string,
    readonly entrypoint: string,
    /** What of the input the policy reads; undefined when it may read all of it. */
    readonly inputTree: PathTree | undefined,
  ) {
    this.policy = this.instantiate();
    const id = (this.policy.entrypoints as Record<string, number>)[entrypoint];
    if (id === undefined) {
      throw new BundleError(`has no entrypoint ${entrypoint} (it has: ${Object.keys(this.policy.entrypoints as object).join(', ')})`);
    }
    this.entrypointId = id;
    const provided = new Set([...OPA_WASM_JS_BUILTINS, ...Object.keys(builtins)]);
    const needed = hostBuiltinsNeeded(this.policy);
    this.nondeterministicBuiltins = needed.filter((b) => NONDETERMINISTIC_BUILTINS.has(b));
    const missing = needed.filter((b) => !provided.has(b));
    if (missing.length > 0) {
      throw new BundleError(`needs builtins iacdash does not provide: ${missing.join(', ')}`);
    }
  }

  /**
   * Compiles and checks a bundle's policy; throws BundleError when it cannot
   * serve. The compile runs off the event loop, so a hot swap under load does
   * not stall the requests in flight.
   */
  static async load(bundle: Bundle, opts: EngineOptions): Promise<PolicyEngine> {
    const module = await WebAssembly.compile(bundle.wasm as Uint8Array<ArrayBuffer>).catch(compileError);
    return PolicyEngine.fromModule(module, bundle, opts);
  }

  /** As {@link load}, synchronously (for one-shot commands). */
  static create(bundle: Bundle, opts: EngineOptions): PolicyEngine {
    let module: WebAssembly.Module;
    try {
      module = new WebAssembly.Module(bundle.wasm as Uint8Array<ArrayBuffer>);
    } catch (err) {
      return compileError(err);
    }
    return PolicyEngine.fromModule(module, bundle, opts);
  }

  private static fromModule(module: WebAssembly.Module, bundle: Bundle, opts: EngineOptions): PolicyEngine {
    const maximum = Math.max(Math.ceil(opts.maxMemoryBytes / PAGE), 5);
    const paths = bundle.inputPaths;
    try {
      return new PolicyEngine(module, toArrayBuffer(bundle.dataJson), createHostBuiltins({ strictBuiltinErrors: opts.strictBuiltinErrors, ...(opts.onBuiltinError ? { onError: opts.onBuiltinError } : {}) }), { initial: 5, maximum }, bundle.revision, opts.entrypoint, paths && pathTree(paths));
    } catch (err) {
      if (err instanceof BundleError) throw err;
      throw new BundleError(`policy.wasm does not load: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private instantiate(): LoadedPolicy {
    const policy = opa.loadPolicySync(this.module, { ...this.memory }, this.builtins);
    policy.setData(this.data);
    const exports = (policy.wasmInstance as WebAssembly.Instance).exports;
    this.opaEval = (policy as unknown as PolicyInternals).minorVersion >= 2 ? (exports['opa_eval'] as OpaEval) : undefined;
    return policy;
  }

  /**
   * opa-wasm's evaluate() with less copying: the input is encoded straight
   * into the instance's memory, and the result's end is found natively.
   * Its own path encodes to a temporary buffer, scans the result byte by
   * byte and builds a TextDecoder per call.
   */
  private evaluateDirect(opaEval: OpaEval, inputJson: string): { result: unknown }[] {
    const internals = this.policy as unknown as PolicyInternals;
    const mem = this.policy.mem;
    const inputAddr = internals.dataHeapPtr;
    // Up to 3 bytes per UTF-16 unit; count exactly only when that bound would grow the memory.
    let room = mem.buffer.byteLength - inputAddr;
    if (inputJson.length * 3 > room) {
      const needed = Buffer.byteLength(inputJson) - room;
      if (needed > 0) mem.grow(Math.ceil(needed / PAGE));
      room = mem.buffer.byteLength - inputAddr;
    }
    const { written } = encoder.encodeInto(inputJson, new Uint8Array(mem.buffer, inputAddr, room));
    const resultAddr = opaEval(0, this.entrypointId, internals.dataAddr, inputAddr, written, inputAddr + written, 0);
    const bytes = new Uint8Array(mem.buffer);
    return JSON.parse(decoder.decode(bytes.subarray(resultAddr, bytes.indexOf(0, resultAddr)))) as { result: unknown }[];
  }

  /**
   * Evaluates raw JSON input and returns the result set (`[]` when the
   * decision is undefined). Throws on an evaluation error, after replacing
   * the instance.
   */
  evaluate(inputJson: string): { result: unknown }[] {
    try {
      if (this.opaEval) return this.evaluateDirect(this.opaEval, inputJson);
      return this.policy.evaluate(encoder.encode(inputJson).buffer as ArrayBuffer, this.entrypointId) as { result: unknown }[];
    } catch (err) {
      this.policy = this.instantiate();
      // opa-wasm throws strings for aborts; normalise so callers see an Error.
      throw err instanceof Error ? err : new Error(String(err));
    }
  }
}
