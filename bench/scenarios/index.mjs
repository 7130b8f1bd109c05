/** Every scenario, by id. C (ext_proc) and D (wasm filters) slot in here as more files. */
import a from './a-ext-authz-grpc.mjs';
import b from './b-ext-authz-envoy.mjs';

export const SCENARIOS = [a, b];
