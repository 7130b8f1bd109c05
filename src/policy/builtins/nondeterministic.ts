/**
 * The builtins OPA marks non-deterministic (`"nondeterministic": true` in
 * `opa capabilities`): a policy that calls one may answer the same input
 * and data differently, so its decisions must not be cached.
 * test/unit/policy/builtins/nondeterministic.test.ts holds this list
 * against the pinned OPA.
 */
export const NONDETERMINISTIC_BUILTINS: ReadonlySet<string> = new Set([
  'http.send',
  'io.jwt.decode_verify',
  'io.jwt.encode_sign',
  'io.jwt.encode_sign_raw',
  'json.match_schema',
  'json.verify_schema',
  'net.lookup_ip_addr',
  'opa.runtime',
  'rand.intn',
  'time.now_ns',
  'uuid.rfc4122',
]);
