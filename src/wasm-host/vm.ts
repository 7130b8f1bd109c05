/**
 * One instance of a proxy-wasm module: its exports, memory, contexts and
 * failure state. Calls into the module go through {@link Vm.call}, which
 * tracks the current context, turns a trap into a failed VM (as Envoy marks
 * the VM failed) and runs the actions a call deferred (local replies,
 * continues), as Envoy's DeferAfterCallActions does.
 */
import { ABI_MARKER, ENVOY_IMPORTS, LOG_LEVELS } from './abi.js';
import { WasmHostError } from './errors.js';
import { HeaderMap, toHeaderList } from './header-map.js';
import { buildImports } from './imports.js';
import { GuestMemory } from './memory.js';
import { headerTree, type PropertyTree } from './properties.js';
import type { HostServices, HttpCallReply } from './services.js';
import type { HttpStream } from './stream-state.js';

/** A root (plugin) context. */
export interface RootState {
  kind: 'root';
  id: number;
  tickPeriodMs: number;
  /** on_done returned false at shutdown; proxy_done finishes it. */
  pendingDone: boolean;
}

/** An HTTP stream context. */
export interface StreamState {
  kind: 'stream';
  id: number;
  parentId: number;
  stream: HttpStream;
  /** Connection facts for properties. */
  meta: StreamMeta;
}

/** Connection facts of a stream (properties `source.*`, `destination.*`, `connection.*`, `request.protocol`). */
export interface StreamMeta {
  protocol: string;
  source: { address: string; port: number };
  destination: { address: string; port: number };
  connectionId: number;
}

/** A context the host created. */
export type ContextState = RootState | StreamState;

/** An http_call response while proxy_on_http_call_response runs. */
export interface HttpCallResponseState {
  headers: HeaderMap;
  body: Buffer;
  trailers: HeaderMap;
}

/** Why the VM stopped: the callback that trapped and the engine's message. */
export interface VmFailure {
  callback: string;
  message: string;
}

/** Marks errors raised by the host's own code, so they are not mistaken for module traps. */
export class HostBug extends Error {}

/** Validates a module the way Envoy does before running it. */
export function checkModule(module: WebAssembly.Module): void {
  const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  if (!exports.has(ABI_MARKER)) {
    throw new WasmHostError('module_invalid', `the module does not export ${ABI_MARKER} (Envoy: "Missing or unknown Proxy-Wasm ABI version")`);
  }
  if (!exports.has('memory')) throw new WasmHostError('module_invalid', 'the module exports no memory');
  if (!exports.has('proxy_on_memory_allocate') && !exports.has('malloc')) {
    throw new WasmHostError('module_invalid', 'the module exports neither malloc nor proxy_on_memory_allocate (Envoy: "Wasm module is missing malloc function")');
  }
  for (const i of WebAssembly.Module.imports(module)) {
    const name = `${i.module}.${i.name}`;
    if (!ENVOY_IMPORTS.has(name)) {
      throw new WasmHostError('import_unknown', `the module imports ${name}, which Envoy does not provide (Envoy fails to load the VM)`);
    }
  }
}

/** One running instance. */
export class Vm {
  readonly memory: GuestMemory;
  readonly contexts = new Map<number, ContextState>();
  failure: VmFailure | undefined;
  /** The context of the callback running now. */
  current: ContextState | undefined;
  /** proxy_set_effective_context; reset for every callback. */
  effectiveId = 0;
  /** proxy_send_local_response forces the callback's result to "stop", as in Envoy. */
  stopNextIteration = false;
  /** Whether the last outermost call ended with stopNextIteration set. */
  lastCallStopped = false;
  /** Why the start sequence failed without a trap (a callback returned false). */
  startError: string | undefined;
  /** True while proxy_on_configure runs: the plugin configuration buffer is readable. */
  configuring = false;
  httpCallResponse: HttpCallResponseState | undefined;
  /** proxy_get_status: the last http_call's status. */
  status = { code: 0, message: '' };
  nextHttpCallToken = 1;

  private readonly exports: WebAssembly.Exports;
  private nextContextId = 1;
  private depth = 0;
  private afterCall: Array<() => void> = [];

  private constructor(
    readonly services: HostServices,
    instance: WebAssembly.Instance,
  ) {
    this.exports = instance.exports;
    const memory = this.exports['memory'];
    if (!(memory instanceof WebAssembly.Memory)) throw new WasmHostError('module_invalid', 'export "memory" is not a memory');
    const allocator = this.exports['proxy_on_memory_allocate'] ?? this.exports['malloc'];
    this.memory = new GuestMemory(memory, (size) => {
      const result = this.invokeRaw(allocator, [size]);
      return typeof result === 'number' ? result : 0;
    });
  }

  /** Instantiates a module; the returned VM has not run `_initialize` yet. */
  static async instantiate(module: WebAssembly.Module, services: HostServices): Promise<Vm> {
    checkModule(module);
    let vm: Vm | undefined;
    const imports = buildImports(() => {
      if (!vm) throw new HostBug('host function called during instantiation (a wasm start section)');
      return vm;
    });
    const instance = await WebAssembly.instantiate(module, imports);
    vm = new Vm(services, instance);
    return vm;
  }

  /** Whether the module exports a function. */
  has(name: string): boolean {
    return typeof this.exports[name] === 'function';
  }

  /** A fresh context id (ids are never reused, as in Envoy). */
  allocContextId(): number {
    return this.nextContextId++;
  }

  /** The context host calls act on: the effective one if set, else the current one. */
  activeContext(): ContextState | undefined {
    if (this.effectiveId !== 0) {
      const effective = this.contexts.get(this.effectiveId);
      if (effective) return effective;
    }
    return this.current;
  }

  /** The root context of a context. */
  rootOf(context: ContextState | undefined): RootState | undefined {
    if (!context) return undefined;
    if (context.kind === 'root') return context;
    const parent = this.contexts.get(context.parentId);
    return parent?.kind === 'root' ? parent : undefined;
  }

  /** Queues an action to run once the outermost module call returns. */
  defer(action: () => void): void {
    this.afterCall.push(action);
  }

  private invokeRaw(fn: WebAssembly.ExportValue | undefined, args: ReadonlyArray<number | bigint>): unknown {
    if (typeof fn !== 'function') return undefined;
    return (fn as (...a: ReadonlyArray<number | bigint>) => unknown)(...args);
  }

  /**
   * Calls an export in `context`. Returns its numeric result (0 for void),
   * or undefined when the export is missing, the VM already failed, or the
   * call trapped (then {@link failure} is set).
   */
  call(name: string, context: ContextState | undefined, args: ReadonlyArray<number | bigint>): number | undefined {
    if (this.failure || !this.has(name)) return undefined;
    const saved = { current: this.current, effectiveId: this.effectiveId };
    this.current = context;
    this.effectiveId = 0;
    this.depth += 1;
    let result: unknown;
    try {
      result = this.invokeRaw(this.exports[name], args);
    } catch (err) {
      if (err instanceof HostBug || err instanceof WasmHostError) throw err;
      this.fail(name, err);
      result = undefined;
    } finally {
      this.depth -= 1;
      this.current = saved.current;
      this.effectiveId = saved.effectiveId;
    }
    if (this.depth === 0) this.runDeferred();
    if (this.failure) return undefined;
    if (typeof result === 'number') return result >>> 0;
    if (typeof result === 'bigint') return Number(BigInt.asUintN(32, result));
    return 0;
  }

  private runDeferred(): void {
    const actions = this.afterCall;
    this.afterCall = [];
    this.lastCallStopped = this.stopNextIteration;
    this.stopNextIteration = false;
    for (const action of actions) action();
  }

  /** Marks the VM failed, logging like Envoy's V8 runtime ("Function: X failed: Uncaught …"). */
  fail(callback: string, err: unknown): void {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.failure = { callback, message };
    this.afterCall = [];
    this.services.log(LOG_LEVELS.indexOf('error'), `Function: ${callback} failed: Uncaught ${message}`, this.current?.id ?? 0, 'host');
  }

  /** Runs `_initialize` (else `_start`, else `__wasm_call_ctors`), as Envoy's startVm does. */
  start(): boolean {
    for (const name of ['_initialize', '_start', '__wasm_call_ctors']) {
      if (this.has(name)) {
        this.call(name, undefined, []);
        break;
      }
    }
    return !this.failure;
  }

  /** Properties a context sees (request/response attributes for streams, plugin identity for all). */
  properties(context: ContextState | undefined): PropertyTree {
    const plugin = this.services.plugin;
    const tree: PropertyTree = {
      plugin_name: plugin.name,
      plugin_root_id: plugin.rootId,
      plugin_vm_id: plugin.vmId,
    };
    if (context?.kind === 'stream') Object.assign(tree, streamProperties(context));
    return mergeTrees(tree, this.services.properties);
  }

  /** Runs proxy_on_http_call_response for a reply (or a failure: 0 headers). */
  deliverHttpCall(rootId: number, token: number, reply: HttpCallReply): void {
    const root = this.contexts.get(rootId);
    if (this.failure || !root) return;
    if ('failure' in reply) {
      this.status = { code: 11, message: 'reset' };
      this.call('proxy_on_http_call_response', root, [rootId, token, 0, 0, 0]);
      this.status = { code: 0, message: '' };
      return;
    }
    const headers = new HeaderMap([[':status', String(reply.status)], ...toHeaderList(reply.headers)]);
    const body = reply.body === undefined ? Buffer.alloc(0) : Buffer.from(reply.body);
    const trailers = new HeaderMap(toHeaderList(reply.trailers));
    this.httpCallResponse = { headers, body, trailers };
    this.status = { code: reply.status, message: '' };
    try {
      this.call('proxy_on_http_call_response', root, [rootId, token, headers.size, body.length, trailers.size]);
    } finally {
      this.httpCallResponse = undefined;
      this.status = { code: 0, message: '' };
    }
  }
}

function mergeTrees(base: PropertyTree, overrides: PropertyTree): PropertyTree {
  for (const [key, value] of Object.entries(overrides)) {
    const existing = base[key];
    if (
      value !== undefined && typeof value === 'object' && !(value instanceof Uint8Array) &&
      existing !== undefined && typeof existing === 'object' && !(existing instanceof Uint8Array)
    ) {
      base[key] = mergeTrees({ ...existing }, value);
    } else {
      base[key] = value;
    }
  }
  return base;
}

function streamProperties(context: StreamState): PropertyTree {
  const { stream, meta } = context;
  const h = stream.requestHeaders;
  const path = h.get(':path') ?? '';
  const q = path.indexOf('?');
  const request: PropertyTree = {
    path,
    url_path: q < 0 ? path : path.slice(0, q),
    host: h.get(':authority'),
    scheme: h.get(':scheme'),
    method: h.get(':method'),
    headers: headerTree(h.pairs()),
    referer: h.get('referer'),
    useragent: h.get('user-agent'),
    id: h.get('x-request-id'),
    protocol: meta.protocol,
    query: q < 0 ? '' : path.slice(q + 1),
    time: stream.startNs,
    size: BigInt(stream.requestBytes),
  };
  if (stream.endNs !== undefined) request['duration'] = stream.endNs - stream.startNs;
  const tree: PropertyTree = {
    request,
    source: { address: `${meta.source.address}:${meta.source.port}`, port: meta.source.port },
    destination: { address: `${meta.destination.address}:${meta.destination.port}`, port: meta.destination.port },
    connection: { id: BigInt(meta.connectionId), mtls: false },
    connection_id: BigInt(meta.connectionId),
  };
  if (stream.responseCode !== undefined) {
    tree['response'] = {
      code: stream.responseCode,
      code_details: stream.responseCodeDetails,
      headers: stream.responseHeaders ? headerTree(stream.responseHeaders.pairs()) : {},
      trailers: stream.responseTrailers ? headerTree(stream.responseTrailers.pairs()) : {},
      size: BigInt(stream.responseBytes),
    };
  }
  return tree;
}
