/** Every scenario, by id, in the order a run takes them. */
import a from './a-ext-authz-grpc.mjs';
import b from './b-ext-authz-envoy.mjs';
import c from './c-transforms-envoy.mjs';
import d from './d-wasm-filters.mjs';

export const SCENARIOS = [a, b, c, d];
