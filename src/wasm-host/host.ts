/**
 * A local proxy-wasm host for HTTP filters: it loads a module the way Envoy
 * does, starts its root context, and runs requests through it in Envoy's
 * callback order, recording logs, metrics, local replies and every header and
 * body change. It is a testing tool, not a proxy: there is no network, the
 * upstream is a function, and time only moves when the clock says so.
 */
import { LOG_LEVELS, type LogLevelName } from './abi.js';
import { WasmHostError } from './errors.js';
import { ExchangeRunner, type Exchange, type HttpRequestInput, type Upstream, type UpstreamResponse } from './exchange.js';
import type { MetricSnapshot } from './metrics.js';
import { setProperty, type PropertyTree, type PropertyValue } from './properties.js';
import { HostServices, type HttpCallHandler, type LogRecord } from './services.js';
import { Vm, type RootState, type StreamMeta, type VmFailure } from './vm.js';

/** Envoy's `failure_policy` (1.39). */
export type FailurePolicy = 'FAIL_CLOSED' | 'FAIL_OPEN' | 'FAIL_RELOAD';

/** How to load and run a module. */
export interface HostOptions {
  /** The module, compiled or as bytes. */
  module: WebAssembly.Module | Uint8Array;
  /** Plugin configuration (Istio `pluginConfig` arrives as JSON text). */
  configuration?: string | Uint8Array;
  /** VM configuration (`vm_config.configuration`). */
  vmConfiguration?: string | Uint8Array;
  /** Envoy `root_id` (Istio `pluginName`); defaults to "". */
  rootId?: string;
  /** Plugin name; defaults to the root id. */
  name?: string;
  /** VM id; defaults to the name. Shared data is kept per VM id. */
  vmId?: string;
  /** What requests get after the VM fails; Envoy's default is FAIL_CLOSED. */
  failurePolicy?: FailurePolicy;
  /** Envoy's legacy `fail_open`; cannot be combined with `failurePolicy`, as in Envoy 1.39. */
  failOpen?: boolean;
  /** Nanoseconds since the epoch; defaults to the real clock. */
  clock?: () => bigint;
  /** Lines below this level are dropped (Envoy's `-l`); defaults to `info`, Envoy's default. */
  logLevel?: LogLevelName;
  /** Clusters that proxy_http_call may reach, by name. */
  upstreams?: Record<string, HttpCallHandler>;
  /** Property overrides by dotted path, e.g. `{ "source.address": "10.0.0.1:5000" }`. */
  properties?: Record<string, PropertyValue>;
  /** Add `x-forwarded-proto` and `x-request-id` before the filter, as Envoy's connection manager does; default true. */
  envoyHeaders?: boolean;
  /** Called for each recorded log line (e.g. to print while debugging). */
  onLog?: (record: LogRecord) => void;
}

/** Counters Envoy keeps per plugin under `wasm.<name>.vm_reload*`. */
export interface ReloadStats {
  success: number;
  failure: number;
}

/** Per-exchange connection facts; every exchange is a new connection unless given. */
export interface ExchangeMeta {
  source?: { address: string; port: number };
  destination?: { address: string; port: number };
  protocol?: string;
  /**
   * An earlier filter in the chain answered with this local reply. As in
   * Envoy, the filter then gets only proxy_on_context_create, proxy_on_log,
   * proxy_on_done and proxy_on_delete, with the reply readable in onLog.
   */
  answeredBefore?: UpstreamResponse;
}

/** Fixed clock for tests: always `ns` (bigint or number of nanoseconds). */
export function fixedClock(ns: bigint | number): () => bigint {
  const value = BigInt(ns);
  return () => value;
}

function realClock(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

const ROOT_CONTEXT_ID = 1;

function toBytes(value: string | Uint8Array | undefined): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

/** The local host. Create it with {@link ProxyWasmHost.create}. */
export class ProxyWasmHost {
  private vm: Vm;
  private connectionId = 0;
  /** VM reload counters (FAIL_RELOAD). */
  readonly reloads: ReloadStats = { success: 0, failure: 0 };

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly services: HostServices,
    private readonly options: HostOptions,
    vm: Vm,
  ) {
    this.vm = vm;
  }

  /**
   * Loads the module and starts it: `_initialize`, then root context
   * creation, proxy_on_vm_start and proxy_on_configure. Throws
   * `WasmHostError('start_failed')` when any of them traps or returns false:
   * Envoy refuses to start in that case, whatever the failure policy.
   */
  static async create(options: HostOptions): Promise<ProxyWasmHost> {
    if (options.failOpen !== undefined && options.failurePolicy !== undefined) {
      throw new WasmHostError('options_invalid', 'only one of failOpen or failurePolicy can be set (Envoy rejects both)');
    }
    let module: WebAssembly.Module;
    try {
      module = options.module instanceof WebAssembly.Module ? options.module : new WebAssembly.Module(options.module as Uint8Array<ArrayBuffer>);
    } catch (err) {
      throw new WasmHostError('module_invalid', `not a WebAssembly module: ${(err as Error).message}`);
    }
    const rootId = options.rootId ?? '';
    const name = options.name ?? rootId;
    const level = LOG_LEVELS.indexOf(options.logLevel ?? 'info');
    const properties: PropertyTree = {};
    for (const [path, value] of Object.entries(options.properties ?? {})) setProperty(properties, path, value);
    const services = new HostServices(
      {
        name,
        rootId,
        vmId: options.vmId ?? name,
        configuration: toBytes(options.configuration),
        vmConfiguration: toBytes(options.vmConfiguration),
      },
      options.clock ?? realClock,
      level < 0 ? 2 : level,
      options.upstreams ?? {},
      properties,
      options.onLog,
    );
    const vm = await ProxyWasmHost.startVm(module, services);
    if (vm.failure || vm.startError) {
      throw new WasmHostError('start_failed', vm.startError ?? `${vm.failure?.callback} trapped: ${vm.failure?.message}`, services.logs.map((l) => `[${l.level}] ${l.message}`));
    }
    return new ProxyWasmHost(module, services, options, vm);
  }

  /** Envoy's start sequence on one VM; sets `startError` instead of throwing so reloads can count failures. */
  private static async startVm(module: WebAssembly.Module, services: HostServices): Promise<Vm> {
    const vm = await Vm.instantiate(module, services);
    if (!vm.start()) return vm;
    const root: RootState = { kind: 'root', id: vm.allocContextId(), tickPeriodMs: 0, pendingDone: false };
    if (root.id !== ROOT_CONTEXT_ID) throw new WasmHostError('host_internal', `root context got id ${root.id}`);
    vm.contexts.set(root.id, root);
    vm.call('proxy_on_context_create', root, [root.id, 0]);
    const started = vm.call('proxy_on_vm_start', root, [root.id, services.plugin.vmConfiguration.length]);
    if (vm.failure) return vm;
    if (started === 0) {
      vm.startError = 'proxy_on_vm_start returned false (Envoy: "Failed to start base Wasm")';
      return vm;
    }
    vm.configuring = true;
    const configured = vm.call('proxy_on_configure', root, [root.id, services.plugin.configuration.length]);
    vm.configuring = false;
    if (!vm.failure && configured === 0) {
      vm.startError = 'proxy_on_configure returned false (Envoy: "Failed to configure base Wasm plugin"; the proxy does not start)';
    }
    return vm;
  }

  /** Every line logged so far (module and host). */
  get logs(): readonly LogRecord[] {
    return this.services.logs;
  }

  /** Every metric the module defined, with values and histogram samples. */
  metrics(): MetricSnapshot[] {
    return this.services.metrics.snapshot();
  }

  /** One metric by name (Envoy shows it as `wasmcustom.<name>`). */
  metric(name: string): MetricSnapshot | undefined {
    return this.services.metrics.lookup(name);
  }

  /** Size of the module's linear memory in bytes (Envoy's VM grows the same way): a leak shows as growth. */
  get memoryBytes(): number {
    return this.vm.memory.byteLength;
  }

  /** Why the current VM failed, if it did. */
  get failure(): VmFailure | undefined {
    return this.vm.failure;
  }

  private async pump(done: () => boolean): Promise<boolean> {
    while (!done()) {
      const pending = [...this.services.pending];
      if (pending.length === 0) return false;
      const delivery = await Promise.race(pending);
      delivery();
    }
    return true;
  }

  /**
   * Runs one request through the filter. `upstream` answers what reaches it
   * (default: 200 with no body). Applies the failure policy first: a failed
   * VM answers 503 (FAIL_CLOSED), is skipped (FAIL_OPEN, fail_open), or is
   * replaced by a fresh one (FAIL_RELOAD; Envoy also waits for a backoff,
   * 1 s by default, answering 503 meanwhile; the host reloads at once).
   */
  async exchange(request: HttpRequestInput, upstream: Upstream = () => ({ status: 200 }), meta: ExchangeMeta = {}): Promise<Exchange> {
    const policy = this.options.failurePolicy ?? 'FAIL_CLOSED';
    if (this.vm.failure && policy === 'FAIL_RELOAD') {
      const fresh = await ProxyWasmHost.startVm(this.module, this.services);
      if (fresh.failure || fresh.startError) {
        this.reloads.failure += 1;
      } else {
        this.reloads.success += 1;
        this.vm = fresh;
      }
    }
    this.connectionId += 1;
    const streamMeta: StreamMeta = {
      protocol: meta.protocol ?? 'HTTP/1.1',
      source: meta.source ?? { address: '127.0.0.1', port: 40000 + (this.connectionId % 20000) },
      destination: meta.destination ?? { address: '127.0.0.1', port: 10000 },
      connectionId: this.connectionId,
    };
    const runner = new ExchangeRunner(this.vm, ROOT_CONTEXT_ID, request, upstream, {
      envoyHeaders: this.options.envoyHeaders ?? true,
      failOpen: this.options.failOpen === true,
      bypass: this.vm.failure !== undefined && (policy === 'FAIL_OPEN' || this.options.failOpen === true),
      answeredBefore: meta.answeredBefore,
      meta: streamMeta,
      pump: (done) => this.pump(done),
      logs: this.services.logs,
    });
    return runner.run();
  }

  /** Calls proxy_on_tick on the root context if it set a tick period (time does not pass by itself here). */
  tick(): boolean {
    const root = this.vm.contexts.get(ROOT_CONTEXT_ID);
    if (this.vm.failure || root?.kind !== 'root' || root.tickPeriodMs === 0) return false;
    this.vm.call('proxy_on_tick', root, [root.id]);
    return true;
  }

  /** The root context's tick period in milliseconds (0: none). */
  get tickPeriodMs(): number {
    const root = this.vm.contexts.get(ROOT_CONTEXT_ID);
    return root?.kind === 'root' ? root.tickPeriodMs : 0;
  }

  /** Runs async deliveries (http_call responses, queue notifications) until none are left. */
  async settle(): Promise<void> {
    await this.pump(() => this.services.pending.size === 0);
  }

  /** Shuts the plugin down: proxy_on_done on the root, then proxy_on_delete unless it asked to finish later. */
  close(): void {
    const root = this.vm.contexts.get(ROOT_CONTEXT_ID);
    if (this.vm.failure || root?.kind !== 'root') return;
    const done = this.vm.call('proxy_on_done', root, [root.id]);
    if (done === 0) {
      root.pendingDone = true;
      return;
    }
    this.vm.call('proxy_on_delete', root, [root.id]);
    this.vm.contexts.delete(root.id);
  }
}
