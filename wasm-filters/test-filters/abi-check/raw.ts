// The host functions the abi-check filter calls directly: the SDK's
// declarations plus two the SDK does not wrap.
export {
  proxy_add_header_map_value,
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
  proxy_http_call,
  proxy_increment_metric,
  proxy_log,
  proxy_record_metric,
  proxy_remove_header_map_value,
  proxy_resolve_shared_queue,
  proxy_set_buffer_bytes,
  proxy_set_effective_context,
  proxy_set_shared_data,
} from "../../sdk/imports";

@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  servicePtr: usize, serviceSize: usize, serviceNamePtr: usize, serviceNameSize: usize,
  methodPtr: usize, methodSize: usize, metadataPtr: usize, metadataSize: usize,
  messagePtr: usize, messageSize: usize, timeoutMs: u32, returnTokenPtr: usize,
): i32;

@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function_checked(
  namePtr: usize, nameSize: usize, argsPtr: usize, argsSize: usize, returnPtr: usize, returnSize: usize,
): i32;
