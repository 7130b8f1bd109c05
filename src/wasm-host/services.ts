/**
 * Host state that outlives one VM, as in Envoy: logs, metrics (Envoy stats),
 * shared data and queues (per vm_id), the clock, and the upstream clusters
 * that proxy_http_call may reach. A VM reload keeps all of it.
 */
import { LOG_LEVELS, Status, type LogLevelName, type StatusCode } from './abi.js';
import type { HeaderInput, HeaderList } from './header-map.js';
import { MetricStore } from './metrics.js';
import type { PropertyTree } from './properties.js';

/** One log line, from the module (proxy_log, fd_write) or from the host (a trap, a refused call). */
export interface LogRecord {
  level: LogLevelName;
  message: string;
  /** Context that logged (0: the VM itself, e.g. during _initialize). */
  contextId: number;
  source: 'module' | 'host';
}

/** An outgoing proxy_http_call as the host received it. */
export interface HttpCallRequest {
  upstream: string;
  headers: HeaderList;
  body: Buffer;
  trailers: HeaderList;
  timeoutMs: number;
}

/** What an upstream cluster answers to an http_call; `failure` makes the module see 0 headers (Envoy: reset). */
export type HttpCallReply =
  | { status: number; headers?: HeaderInput; body?: string | Uint8Array; trailers?: HeaderInput }
  | { failure: 'reset' };

/** An upstream cluster the module may call with proxy_http_call. */
export type HttpCallHandler = (request: HttpCallRequest) => HttpCallReply | Promise<HttpCallReply>;

/** Identity of the plugin, as Envoy's plugin config gives it. */
export interface PluginInfo {
  name: string;
  rootId: string;
  vmId: string;
  configuration: Uint8Array;
  vmConfiguration: Uint8Array;
}

/** proxy_get/set_shared_data: one store per vm_id, with compare-and-swap tokens. */
export class SharedData {
  private readonly stores = new Map<string, Map<string, { value: Uint8Array; cas: number }>>();
  private nextCas = 1;

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    return this.stores.get(vmId)?.get(key);
  }

  set(vmId: string, key: string, value: Uint8Array, cas: number): StatusCode {
    let store = this.stores.get(vmId);
    if (!store) this.stores.set(vmId, (store = new Map()));
    const existing = store.get(key);
    if (cas !== 0 && existing && existing.cas !== cas) return Status.CasMismatch;
    store.set(key, { value, cas: this.nextCas++ });
    return Status.Ok;
  }
}

/** Shared queues: registered by a root context, which gets proxy_on_queue_ready. */
export class SharedQueues {
  private readonly queues = new Map<number, { vmId: string; name: string; items: Uint8Array[]; rootContextId: number }>();
  private readonly byName = new Map<string, number>();
  private nextToken = 1;

  register(vmId: string, name: string, rootContextId: number): number {
    const key = `${vmId}\0${name}`;
    const existing = this.byName.get(key);
    if (existing !== undefined) {
      const queue = this.queues.get(existing);
      if (queue) queue.rootContextId = rootContextId;
      return existing;
    }
    const token = this.nextToken++;
    this.queues.set(token, { vmId, name, items: [], rootContextId });
    this.byName.set(key, token);
    return token;
  }

  resolve(vmId: string, name: string): number | undefined {
    return this.byName.get(`${vmId}\0${name}`);
  }

  enqueue(token: number, value: Uint8Array): { status: StatusCode; rootContextId?: number } {
    const queue = this.queues.get(token);
    if (!queue) return { status: Status.NotFound };
    queue.items.push(value);
    return { status: Status.Ok, rootContextId: queue.rootContextId };
  }

  dequeue(token: number): { status: StatusCode; value?: Uint8Array } {
    const queue = this.queues.get(token);
    if (!queue) return { status: Status.NotFound };
    const value = queue.items.shift();
    return value === undefined ? { status: Status.Empty } : { status: Status.Ok, value };
  }
}

/** Everything the VMs of one plugin share. */
export class HostServices {
  readonly logs: LogRecord[] = [];
  readonly metrics = new MetricStore();
  readonly shared = new SharedData();
  readonly queues = new SharedQueues();
  /** Deliveries waiting for an async event (http_call responses, queue items), run by the stream pump. */
  readonly pending = new Set<Promise<() => void>>();

  constructor(
    readonly plugin: PluginInfo,
    readonly clock: () => bigint,
    /** Host log level (`proxy_get_log_level`); lower levels are dropped, as Envoy drops them. */
    readonly logLevel: number,
    readonly upstreams: Readonly<Record<string, HttpCallHandler>>,
    /** Fixture overrides merged into every stream's properties. */
    readonly properties: PropertyTree,
    private readonly sink: ((record: LogRecord) => void) | undefined,
  ) {}

  /** Records a line if it passes the host level. */
  log(level: number, message: string, contextId: number, source: LogRecord['source']): void {
    if (level < this.logLevel) return;
    const record: LogRecord = { level: LOG_LEVELS[level] ?? 'critical', message, contextId, source };
    this.logs.push(record);
    this.sink?.(record);
  }

  /** Queues an async event; the task resolves to the delivery to run on the VM. */
  enqueue(task: Promise<() => void>): void {
    const tracked = task.finally(() => this.pending.delete(tracked));
    // A delivery nobody waits for any more (its stream ended) must not crash the process;
    // a pump that does wait still sees the rejection.
    tracked.catch(() => undefined);
    this.pending.add(tracked);
  }
}
