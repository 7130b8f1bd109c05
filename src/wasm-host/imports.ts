/**
 * The host functions (module `env`; the WASI calls are in wasi.ts). Each
 * one follows proxy-wasm-cpp-host's exports.cc and Envoy's Context: pointers
 * and sizes are checked (INVALID_MEMORY_ACCESS), enum arguments are checked
 * (BAD_ARGUMENT), and maps and buffers are only reachable in the callbacks
 * where Envoy exposes them.
 */
import { LOG_LEVELS, MAX_BUFFER_TYPE, MAX_MAP_TYPE, Status, StreamType, type StatusCode } from './abi.js';
import { bufferOf, readableMap, streamOf, writableMap } from './access.js';
import { deserializePairs, serializePairs } from './header-map.js';
import { lookupProperty, serializeProperty, splitPath } from './properties.js';
import type { HttpCallReply } from './services.js';
import type { ContextState, Vm } from './vm.js';
import { wasiImports } from './wasi.js';

type Fn = (...args: never[]) => number | void;

/** What Envoy's async client answers when an http_call times out (observed with Envoy 1.39). */
const TIMEOUT_REPLY: HttpCallReply = {
  status: 504,
  headers: [['content-length', '24'], ['content-type', 'text/plain']],
  body: 'upstream request timeout',
};

/** Races a reply with the call's timeout (0: none, as in Envoy). */
function withTimeout(reply: Promise<HttpCallReply>, timeoutMs: number): Promise<HttpCallReply> {
  if (timeoutMs === 0) return reply;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<HttpCallReply>((resolve) => {
    timer = setTimeout(() => resolve(TIMEOUT_REPLY), timeoutMs);
  });
  return Promise.race([reply, expired]).finally(() => clearTimeout(timer));
}

/** Builds the import object; `vmRef` resolves the instance once it exists. */
export function buildImports(vmRef: () => Vm): WebAssembly.Imports {
  const ctx = (): ContextState | undefined => vmRef().activeContext();
  const mem = () => vmRef().memory;

  const env: Record<string, Fn> = {
    proxy_log: (level: number, ptr: number, size: number): StatusCode => {
      if (level >>> 0 > LOG_LEVELS.length - 1) return Status.BadArgument;
      const message = mem().readString(ptr, size);
      if (message === undefined) return Status.InvalidMemoryAccess;
      vmRef().services.log(level >>> 0, message, ctx()?.id ?? 0, 'module');
      return Status.Ok;
    },
    proxy_get_log_level: (ptr: number): StatusCode =>
      mem().writeU32(ptr, vmRef().services.logLevel) ? Status.Ok : Status.InvalidMemoryAccess,
    proxy_get_current_time_nanoseconds: (ptr: number): StatusCode =>
      mem().writeU64(ptr, vmRef().services.clock()) ? Status.Ok : Status.InvalidMemoryAccess,
    proxy_set_tick_period_milliseconds: (period: number): StatusCode => {
      const root = vmRef().rootOf(ctx());
      if (root) root.tickPeriodMs = period >>> 0;
      return Status.Ok;
    },
    proxy_get_status: (codePtr: number, msgPtr: number, msgSizePtr: number): StatusCode => {
      const { code, message } = vmRef().status;
      if (!mem().writeU32(codePtr, code)) return Status.InvalidMemoryAccess;
      return mem().copyOut(Buffer.from(message), msgPtr, msgSizePtr) ? Status.Ok : Status.InvalidMemoryAccess;
    },

    proxy_get_property: (pathPtr: number, pathSize: number, valuePtr: number, valueSize: number): StatusCode => {
      const path = mem().read(pathPtr, pathSize);
      if (!path) return Status.InvalidMemoryAccess;
      const context = ctx();
      const segments = splitPath(path);
      const value = lookupProperty(vmRef().properties(context), segments);
      let bytes: Uint8Array | undefined = value === undefined ? undefined : serializeProperty(value);
      // Envoy falls back to filter state set by proxy_set_property for top-level names.
      const stream = streamOf(context);
      if (bytes === undefined && segments.length === 1 && stream) bytes = stream.filterState.get(segments[0] ?? '');
      if (bytes === undefined) return Status.NotFound;
      return mem().copyOut(bytes, valuePtr, valueSize) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_set_property: (pathPtr: number, pathSize: number, valuePtr: number, valueSize: number): StatusCode => {
      const path = mem().read(pathPtr, pathSize);
      const value = mem().read(valuePtr, valueSize);
      if (!path || !value) return Status.InvalidMemoryAccess;
      const stream = streamOf(ctx());
      if (!stream) return Status.NotFound;
      stream.filterState.set(Buffer.from(path).toString('utf8'), value);
      return Status.Ok;
    },

    proxy_continue_stream: (type: number): StatusCode => {
      const t = type >>> 0;
      if (t > StreamType.Upstream) return Status.BadArgument;
      if (t === StreamType.Upstream) return Status.Unimplemented;
      const stream = streamOf(ctx());
      if (!stream || t === StreamType.Downstream) return Status.Ok;
      if (t === StreamType.Request) {
        vmRef().defer(() => (stream.continueRequest = true));
        // Envoy drops its request map and buffer pointers right away.
        stream.requestHeadersOpen = false;
        stream.requestTrailersOpen = false;
        if (stream.body?.direction === 'request') stream.body = undefined;
      } else {
        vmRef().defer(() => (stream.continueResponse = true));
      }
      return Status.Ok;
    },
    proxy_close_stream: (type: number): StatusCode => {
      const t = type >>> 0;
      if (t > StreamType.Upstream) return Status.BadArgument;
      const stream = streamOf(ctx());
      if (stream && (t === StreamType.Request || t === StreamType.Response)) {
        vmRef().defer(() => (stream.reset ??= 'wasm_close_stream'));
      }
      return Status.Ok;
    },
    proxy_send_local_response: (
      status: number, detailsPtr: number, detailsSize: number, bodyPtr: number, bodySize: number,
      headersPtr: number, headersSize: number, grpcStatus: number,
    ): StatusCode => {
      const details = mem().readString(detailsPtr, detailsSize);
      const body = mem().read(bodyPtr, bodySize);
      const rawHeaders = mem().read(headersPtr, headersSize);
      if (details === undefined || !body || !rawHeaders) return Status.InvalidMemoryAccess;
      const headers = deserializePairs(rawHeaders);
      if (!headers) return Status.BadArgument;
      const vm = vmRef();
      const stream = streamOf(ctx());
      if (stream) {
        const grpc = grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus : undefined;
        vm.defer(() => {
          stream.localReply ??= { status: status >>> 0, body, headers, details: details.replace(/\s/g, '_'), grpcStatus: grpc };
        });
      }
      vm.stopNextIteration = true;
      return Status.Ok;
    },

    proxy_get_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      if (key === undefined) return Status.InvalidMemoryAccess;
      const context = ctx();
      const map = readableMap(vmRef(), context, type >>> 0);
      if (!map) return streamOf(context)?.accessLogPhase ? Status.NotFound : Status.BadArgument;
      const value = map.get(key);
      if (value === undefined) return Status.NotFound;
      return mem().copyOut(Buffer.from(value), valuePtr, valueSize) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_header_map_pairs: (type: number, ptrPtr: number, sizePtr: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const map = readableMap(vmRef(), ctx(), type >>> 0);
      const pairs = map ? map.pairs() : [];
      const bytes = pairs.length === 0 ? new Uint8Array(0) : serializePairs(pairs);
      return mem().copyOut(bytes, ptrPtr, sizePtr) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_header_map_size: (type: number, sizePtr: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const map = writableMap(ctx(), type >>> 0);
      if (!map) return Status.BadArgument;
      return mem().writeU32(sizePtr, map.byteSize()) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_add_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      const value = mem().readString(valuePtr, valueSize);
      if (key === undefined || value === undefined) return Status.InvalidMemoryAccess;
      const map = writableMap(ctx(), type >>> 0);
      if (!map) return Status.BadArgument;
      map.add(key, value);
      return Status.Ok;
    },
    proxy_replace_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      const value = mem().readString(valuePtr, valueSize);
      if (key === undefined || value === undefined) return Status.InvalidMemoryAccess;
      const map = writableMap(ctx(), type >>> 0);
      if (!map) return Status.BadArgument;
      map.replace(key, value);
      return Status.Ok;
    },
    proxy_remove_header_map_value: (type: number, keyPtr: number, keySize: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const key = mem().readString(keyPtr, keySize);
      if (key === undefined) return Status.InvalidMemoryAccess;
      const map = writableMap(ctx(), type >>> 0);
      if (!map) return Status.BadArgument;
      map.remove(key);
      return Status.Ok;
    },
    proxy_set_header_map_pairs: (type: number, ptr: number, size: number): StatusCode => {
      if (type >>> 0 > MAX_MAP_TYPE) return Status.BadArgument;
      const raw = mem().read(ptr, size);
      if (!raw) return Status.InvalidMemoryAccess;
      const pairs = deserializePairs(raw);
      if (!pairs) return Status.BadArgument;
      const map = writableMap(ctx(), type >>> 0);
      if (!map) return Status.BadArgument;
      map.setPairs(pairs);
      return Status.Ok;
    },

    proxy_get_buffer_status: (type: number, sizePtr: number, flagsPtr: number): StatusCode => {
      if (type >>> 0 > MAX_BUFFER_TYPE) return Status.BadArgument;
      const buffer = bufferOf(vmRef(), ctx(), type >>> 0);
      if (!buffer) return Status.NotFound;
      if (!mem().writeU32(sizePtr, buffer.data.length)) return Status.InvalidMemoryAccess;
      return mem().writeU32(flagsPtr, 0) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_get_buffer_bytes: (type: number, start: number, length: number, ptrPtr: number, sizePtr: number): StatusCode => {
      if (type >>> 0 > MAX_BUFFER_TYPE) return Status.BadArgument;
      const buffer = bufferOf(vmRef(), ctx(), type >>> 0);
      if (!buffer) return Status.NotFound;
      const from = start >>> 0;
      // Envoy computes size - start unchecked here; a strict host refuses.
      if (from > buffer.data.length) return Status.BadArgument;
      const count = Math.min(length >>> 0, buffer.data.length - from);
      // An empty read writes pointer 0 and size 0 (observed in Envoy 1.39).
      return mem().copyOut(buffer.data.subarray(from, from + count), ptrPtr, sizePtr) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_set_buffer_bytes: (type: number, start: number, length: number, dataPtr: number, dataSize: number): StatusCode => {
      if (type >>> 0 > MAX_BUFFER_TYPE) return Status.BadArgument;
      const buffer = bufferOf(vmRef(), ctx(), type >>> 0);
      if (!buffer) return Status.NotFound;
      const data = mem().read(dataPtr, dataSize);
      if (!data) return Status.InvalidMemoryAccess;
      if (!buffer.set) return Status.BadArgument;
      const current = buffer.data;
      const from = start >>> 0;
      // Envoy's Buffer::copyFrom: replace a prefix, or append; nothing in between.
      if (from === 0) buffer.set(Buffer.concat([data, current.subarray(Math.min(length >>> 0, current.length))]));
      else if (from >= current.length) buffer.set(Buffer.concat([current, data]));
      else return Status.BadArgument;
      return Status.Ok;
    },

    proxy_http_call: (
      upstreamPtr: number, upstreamSize: number, headersPtr: number, headersSize: number, bodyPtr: number,
      bodySize: number, trailersPtr: number, trailersSize: number, timeout: number, tokenPtr: number,
    ): StatusCode => {
      const upstream = mem().readString(upstreamPtr, upstreamSize);
      const rawHeaders = mem().read(headersPtr, headersSize);
      const body = mem().read(bodyPtr, bodySize);
      const rawTrailers = mem().read(trailersPtr, trailersSize);
      if (upstream === undefined || !rawHeaders || !body || !rawTrailers) return Status.InvalidMemoryAccess;
      if (!mem().writeU32(tokenPtr, 0)) return Status.InvalidMemoryAccess;
      const vm = vmRef();
      const headers = deserializePairs(rawHeaders);
      const trailers = deserializePairs(rawTrailers);
      if (!headers || !trailers || timeout < 0) return Status.BadArgument;
      const handler = Object.prototype.hasOwnProperty.call(vm.services.upstreams, upstream) ? vm.services.upstreams[upstream] : undefined;
      if (!handler) return Status.BadArgument; // Envoy: no such cluster
      const names = new Set(headers.map(([k]) => k.toLowerCase()));
      if (!names.has(':path') || !names.has(':method') || !names.has(':authority')) return Status.BadArgument;
      const root = vm.rootOf(ctx());
      if (!root) return Status.BadArgument;
      const token = vm.nextHttpCallToken++;
      mem().writeU32(tokenPtr, token);
      const request = { upstream, headers, body: Buffer.from(body), trailers, timeoutMs: timeout >>> 0 };
      vm.services.enqueue(withTimeout(Promise.resolve().then(() => handler(request)), timeout >>> 0).then((reply) => () => vm.deliverHttpCall(root.id, token, reply)));
      return Status.Ok;
    },
    // No gRPC upstreams in the local host: like Envoy with an unknown cluster.
    proxy_grpc_call: (): StatusCode => Status.ParseFailure,
    proxy_grpc_stream: (): StatusCode => Status.ParseFailure,
    proxy_grpc_send: (): StatusCode => Status.BadArgument,
    proxy_grpc_cancel: (): StatusCode => Status.NotFound,
    proxy_grpc_close: (): StatusCode => Status.NotFound,

    proxy_define_metric: (type: number, namePtr: number, nameSize: number, idPtr: number): StatusCode => {
      const name = mem().readString(namePtr, nameSize);
      if (name === undefined) return Status.InvalidMemoryAccess;
      const [status, id] = vmRef().services.metrics.define(type >>> 0, name);
      if (status !== Status.Ok) return status;
      return mem().writeU32(idPtr, id) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_increment_metric: (id: number, delta: bigint): StatusCode => vmRef().services.metrics.increment(id, delta),
    proxy_record_metric: (id: number, value: bigint): StatusCode => vmRef().services.metrics.record(id, value),
    proxy_get_metric: (id: number, valuePtr: number): StatusCode => {
      const [status, value] = vmRef().services.metrics.get(id);
      if (status !== Status.Ok) return status;
      return mem().writeU64(valuePtr, value) ? Status.Ok : Status.InvalidMemoryAccess;
    },

    proxy_get_shared_data: (keyPtr: number, keySize: number, valuePtr: number, valueSize: number, casPtr: number): StatusCode => {
      const key = mem().readString(keyPtr, keySize);
      if (key === undefined) return Status.InvalidMemoryAccess;
      const vm = vmRef();
      const entry = vm.services.shared.get(vm.services.plugin.vmId, key);
      if (!entry) return Status.NotFound;
      if (!mem().copyOut(entry.value, valuePtr, valueSize)) return Status.InvalidMemoryAccess;
      return mem().writeU32(casPtr, entry.cas) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_set_shared_data: (keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number): StatusCode => {
      const key = mem().readString(keyPtr, keySize);
      const value = mem().read(valuePtr, valueSize);
      if (key === undefined || !value) return Status.InvalidMemoryAccess;
      const vm = vmRef();
      return vm.services.shared.set(vm.services.plugin.vmId, key, value, cas >>> 0);
    },
    proxy_register_shared_queue: (namePtr: number, nameSize: number, tokenPtr: number): StatusCode => {
      const name = mem().readString(namePtr, nameSize);
      if (name === undefined) return Status.InvalidMemoryAccess;
      const vm = vmRef();
      const root = vm.rootOf(ctx());
      const token = vm.services.queues.register(vm.services.plugin.vmId, name, root?.id ?? 0);
      return mem().writeU32(tokenPtr, token) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue: (vmIdPtr: number, vmIdSize: number, namePtr: number, nameSize: number, tokenPtr: number): StatusCode => {
      const vmId = mem().readString(vmIdPtr, vmIdSize);
      const name = mem().readString(namePtr, nameSize);
      if (vmId === undefined || name === undefined) return Status.InvalidMemoryAccess;
      const vm = vmRef();
      const token = vm.services.queues.resolve(vmId === '' ? vm.services.plugin.vmId : vmId, name);
      if (token === undefined) return Status.NotFound;
      return mem().writeU32(tokenPtr, token) ? Status.Ok : Status.InvalidMemoryAccess;
    },
    proxy_enqueue_shared_queue: (token: number, valuePtr: number, valueSize: number): StatusCode => {
      const value = mem().read(valuePtr, valueSize);
      if (!value) return Status.InvalidMemoryAccess;
      const vm = vmRef();
      const { status, rootContextId } = vm.services.queues.enqueue(token >>> 0, value);
      if (status === Status.Ok && rootContextId) {
        vm.services.enqueue(
          Promise.resolve(() => {
            const root = vm.contexts.get(rootContextId);
            if (root) vm.call('proxy_on_queue_ready', root, [rootContextId, token >>> 0]);
          }),
        );
      }
      return status;
    },
    proxy_dequeue_shared_queue: (token: number, ptrPtr: number, sizePtr: number): StatusCode => {
      const { status, value } = vmRef().services.queues.dequeue(token >>> 0);
      if (status !== Status.Ok || !value) return status;
      return mem().copyOut(value, ptrPtr, sizePtr) ? Status.Ok : Status.InvalidMemoryAccess;
    },

    proxy_set_effective_context: (id: number): StatusCode => {
      const vm = vmRef();
      if (!vm.contexts.has(id >>> 0)) return Status.BadArgument;
      vm.effectiveId = id >>> 0;
      return Status.Ok;
    },
    proxy_done: (): StatusCode => {
      const vm = vmRef();
      const root = vm.rootOf(ctx());
      if (!root || !root.pendingDone) return Status.NotFound;
      root.pendingDone = false;
      vm.defer(() => {
        vm.call('proxy_on_delete', root, [root.id]);
        vm.contexts.delete(root.id);
      });
      return Status.Ok;
    },
    proxy_call_foreign_function: (namePtr: number, nameSize: number, argsPtr: number, argsSize: number): StatusCode => {
      if (mem().read(namePtr, nameSize) === undefined || mem().read(argsPtr, argsSize) === undefined) {
        return Status.InvalidMemoryAccess;
      }
      return Status.NotFound;
    },
    pthread_equal: (a: number, b: number): number => (a === b ? 1 : 0),
  };

  const wasi = wasiImports(vmRef);

  return { env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi } as unknown as WebAssembly.Imports;
}
