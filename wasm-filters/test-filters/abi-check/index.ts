// Test-only filter: on each request it calls host functions with bad or
// out-of-place arguments and logs every status code as `abi <case>=<status>`,
// so a test can hold the local host's answers against Envoy's. Never ship it.
import {
  Action,
  HttpContext,
  RootContext,
  logInfo,
  registerRootContext,
  serializeHeaders,
  HeaderPair,
  utf8,
} from "../../sdk";
import {
  proxy_add_header_map_value,
  proxy_call_foreign_function_checked,
  proxy_close_stream,
  proxy_continue_stream,
  proxy_define_metric,
  proxy_dequeue_shared_queue,
  proxy_done,
  proxy_enqueue_shared_queue,
  proxy_get_buffer_bytes,
  proxy_get_buffer_status,
  proxy_get_header_map_pairs,
  proxy_get_header_map_value,
  proxy_get_log_level,
  proxy_get_metric,
  proxy_get_property,
  proxy_get_shared_data,
  proxy_grpc_call,
  proxy_http_call,
  proxy_increment_metric,
  proxy_log,
  proxy_record_metric,
  proxy_remove_header_map_value,
  proxy_resolve_shared_queue,
  proxy_set_buffer_bytes,
  proxy_set_effective_context,
  proxy_set_shared_data,
} from "./raw";
export * from "../../sdk/exports";

const OUT1: usize = memory.data(8, 8);
const OUT2: usize = memory.data(8, 8);
const OUT3: usize = memory.data(8, 8);
// Far past the end of a module's memory: every host must refuse it.
const BAD: usize = 0xfffffff0;

function report(name: string, status: i32): void {
  logInfo("abi " + name + "=" + status.toString());
}

function sentinel(): void {
  store<u32>(OUT1, 0xdeadbeef);
  store<u32>(OUT2, 0xdeadbeef);
}

class CheckHttp extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const msg = utf8("x");
    const key = utf8("x-missing-header");
    const path = utf8(":path");
    const prop = utf8("no_such_property");
    report("log.bad_level", proxy_log(9, changetype<usize>(msg), 1));
    report("log.bad_pointer", proxy_log(2, BAD, 100));
    report("get_header.bad_map", proxy_get_header_map_value(8, changetype<usize>(path), 5, OUT1, OUT2));
    report("get_header.missing", proxy_get_header_map_value(0, changetype<usize>(key), <usize>key.byteLength, OUT1, OUT2));
    report("get_header.bad_key_pointer", proxy_get_header_map_value(0, BAD, 5, OUT1, OUT2));
    report("get_header.bad_out_pointer", proxy_get_header_map_value(0, changetype<usize>(path), 5, BAD, OUT2));
    report("get_header.response_in_request", proxy_get_header_map_value(2, changetype<usize>(path), 5, OUT1, OUT2));
    sentinel();
    const pairs = proxy_get_header_map_pairs(2, OUT1, OUT2);
    report("get_pairs.response_in_request", pairs);
    report("get_pairs.response_in_request.size", <i32>load<u32>(OUT2));
    report("add_header.request_trailers", proxy_add_header_map_value(1, changetype<usize>(key), 3, changetype<usize>(key), 3));
    report("remove_header.bad_map", proxy_remove_header_map_value(99, changetype<usize>(key), 3));
    report("get_buffer.bad_type", proxy_get_buffer_bytes(9, 0, 10, OUT1, OUT2));
    report("get_buffer.plugin_configuration", proxy_get_buffer_bytes(7, 0, 10, OUT1, OUT2));
    sentinel();
    report("get_buffer.request_body_in_headers", proxy_get_buffer_bytes(0, 0, 10, OUT1, OUT2));
    report("get_buffer.request_body_in_headers.pointer", load<u32>(OUT1) == 0xdeadbeef ? -1 : <i32>load<u32>(OUT1));
    report("get_buffer.request_body_in_headers.size", load<u32>(OUT2) == 0xdeadbeef ? -1 : <i32>load<u32>(OUT2));
    store<u32>(OUT1, 77);
    report("buffer_status.request_body_in_headers", proxy_get_buffer_status(0, OUT1, OUT2));
    report("buffer_status.request_body_in_headers.size", <i32>load<u32>(OUT1));
    report("set_buffer.bad_type", proxy_set_buffer_bytes(12, 0, 0, changetype<usize>(msg), 1));
    report("set_buffer.bad_pointer", proxy_set_buffer_bytes(0, 0, 0, BAD, 64));
    report("get_property.missing", proxy_get_property(changetype<usize>(prop), <usize>prop.byteLength, OUT1, OUT2));
    report("get_property.bad_pointer", proxy_get_property(BAD, 8, OUT1, OUT2));
    report("continue_stream.bad_type", proxy_continue_stream(7));
    report("continue_stream.upstream", proxy_continue_stream(3));
    report("close_stream.bad_type", proxy_close_stream(7));
    report("define_metric.bad_type", proxy_define_metric(3, changetype<usize>(msg), 1, OUT1));
    const name = utf8("abi_check.counter");
    report("define_metric.counter", proxy_define_metric(0, changetype<usize>(name), <usize>name.byteLength, OUT3));
    const counter = load<u32>(OUT3);
    report("define_metric.counter.id_type", <i32>(counter & 3));
    report("increment_metric.zero", proxy_increment_metric(counter, 0));
    report("increment_metric.negative", proxy_increment_metric(counter, -1));
    report("increment_metric.unknown", proxy_increment_metric(0x7ffffff0, 1));
    report("record_metric.unknown", proxy_record_metric(0x7ffffff0, 1));
    const hname = utf8("abi_check.histogram");
    proxy_define_metric(2, changetype<usize>(hname), <usize>hname.byteLength, OUT3);
    report("get_metric.histogram", proxy_get_metric(load<u32>(OUT3), OUT1));
    report("increment_metric.histogram", proxy_increment_metric(load<u32>(OUT3), 1));
    const cluster = utf8("no-such-cluster");
    const echo = utf8("echo");
    const good = serializeHeaders([new HeaderPair(":method", "GET"), new HeaderPair(":path", "/"), new HeaderPair(":authority", "echo")]);
    const noPath = serializeHeaders([new HeaderPair(":method", "GET"), new HeaderPair(":authority", "echo")]);
    const empty = new ArrayBuffer(0);
    report("http_call.unknown_cluster", proxy_http_call(changetype<usize>(cluster), <usize>cluster.byteLength, changetype<usize>(good), <usize>good.byteLength, changetype<usize>(empty), 0, changetype<usize>(empty), 0, 1000, OUT1));
    report("http_call.missing_path", proxy_http_call(changetype<usize>(echo), <usize>echo.byteLength, changetype<usize>(noPath), <usize>noPath.byteLength, changetype<usize>(empty), 0, changetype<usize>(empty), 0, 1000, OUT1));
    report("http_call.bad_token_pointer", proxy_http_call(changetype<usize>(echo), <usize>echo.byteLength, changetype<usize>(good), <usize>good.byteLength, changetype<usize>(empty), 0, changetype<usize>(empty), 0, 1000, BAD));
    report("grpc_call.unknown_cluster", proxy_grpc_call(changetype<usize>(cluster), <usize>cluster.byteLength, changetype<usize>(msg), 1, changetype<usize>(msg), 1, changetype<usize>(empty), 0, changetype<usize>(msg), 1, 1000, OUT1));
    report("set_effective_context.unknown", proxy_set_effective_context(987654));
    report("done.not_pending", proxy_done());
    const sk = utf8("abi-check-missing-key");
    report("get_shared_data.missing", proxy_get_shared_data(changetype<usize>(sk), <usize>sk.byteLength, OUT1, OUT2, OUT3));
    const nk = utf8("abi-check-cas-key");
    report("set_shared_data.cas_on_new_key", proxy_set_shared_data(changetype<usize>(nk), <usize>nk.byteLength, changetype<usize>(msg), 1, 12345));
    report("dequeue.unknown", proxy_dequeue_shared_queue(987654, OUT1, OUT2));
    report("enqueue.unknown", proxy_enqueue_shared_queue(987654, changetype<usize>(msg), 1));
    const qn = utf8("no-such-queue");
    report("resolve_queue.missing", proxy_resolve_shared_queue(changetype<usize>(empty), 0, changetype<usize>(qn), <usize>qn.byteLength, OUT1));
    const fn = utf8("no_such_function");
    report("foreign_function.missing", proxy_call_foreign_function_checked(changetype<usize>(fn), <usize>fn.byteLength, changetype<usize>(msg), 1, OUT1, OUT2));
    report("get_log_level", proxy_get_log_level(OUT1));
    report("get_log_level.value", <i32>load<u32>(OUT1));
    return Action.Continue;
  }
}

class CheckRoot extends RootContext {
  createHttpContext(id: u32): HttpContext {
    return new CheckHttp(id, this);
  }
}

registerRootContext((id: u32, rootId: string): RootContext => new CheckRoot(id, rootId));
