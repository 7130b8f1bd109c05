/**
 * The project `iacdash init` writes: one of each kind of test, all passing.
 * Kept as strings because tsc copies only .ts files into dist/.
 */

const POLICY = `# The ext_authz decision at data.envoy.authz.allow, in OPA-Envoy's object form:
# https://www.openpolicyagent.org/docs/envoy/primer
#   GET /public/...      allowed, no credentials
#   a known x-api-key    allowed; the caller's name goes upstream as x-user
#   anything else        401 with a JSON body
package envoy.authz

http := input.attributes.request.http

public if {
	http.method == "GET"
	input.parsed_path[0] == "public"
}

# data.api_keys comes from policies/data.json.
user := data.api_keys[http.headers["x-api-key"]]

allow := {"allowed": true} if {
	public
} else := {"allowed": true, "headers": {"x-user": user}} if {
	user
} else := {
	"allowed": false,
	"http_status": 401,
	"headers": {"content-type": "application/json", "www-authenticate": "ApiKey"},
	"body": "{\\"error\\":\\"unauthenticated\\"}",
}
`;

const POLICY_TEST = `# Unit tests for authz.rego; \`iacdash test\` runs them with \`opa test\`.
package envoy.authz_test

import data.envoy.authz

# A policy input as the sidecar builds it, reduced to what authz.rego reads.
request(method, path, headers) := {
	"attributes": {"request": {"http": {"method": method, "path": path, "headers": headers}}},
	"parsed_path": split(trim_prefix(path, "/"), "/"),
}

test_public_get_is_allowed if {
	authz.allow.allowed with input as request("GET", "/public/menu", {})
}

test_known_key_is_allowed_as_its_user if {
	decision := authz.allow with input as request("GET", "/orders", {"x-api-key": "demo-key-alice"})
	decision.allowed
	decision.headers["x-user"] == "alice"
}

test_unknown_key_is_401 if {
	decision := authz.allow with input as request("GET", "/orders", {"x-api-key": "nope"})
	not decision.allowed
	decision.http_status == 401
}
`;

const DATA = `{
  "api_keys": {
    "demo-key-alice": "alice"
  }
}
`;

const LUA = `-- Gives every request a tenant: the client's x-tenant header when it sent
-- one, "public" otherwise. Runs in Envoy's Lua filter, or in iacdash over
-- ext_proc (extproc.scripts in iacdash.yaml).
function envoy_on_request(handle)
  local headers = handle:headers()
  if headers:get("x-tenant") == nil then
    headers:add("x-tenant", "public")
    handle:logInfo("x-tenant set to public")
  end
end
`;

const LUA_ADDS = `description: A request without x-tenant gets the public tenant.
request:
  headers:
    ":method": GET
    ":path": /orders
    ":authority": shop.example
  expect:
    headers:
      set:
        x-tenant: public
    logs:
      - { level: info, message: x-tenant set to public }
`;

const LUA_KEEPS = `description: A client's own x-tenant is left alone.
request:
  headers:
    ":method": GET
    ":path": /orders
    ":authority": shop.example
    x-tenant: acme
  expect:
    headers: unchanged
`;

const FILTER = `# The proxy-wasm module these fixtures run against, in iacdash's local host.
# iacdash:NAME is a filter shipped with iacdash (built into its build/wasm/NAME.wasm
# on first use); a path (./my-filter.wasm) is relative to this file.
module: iacdash:custom-auth
rootId: custom-auth
# The plugin configuration (Istio's pluginConfig), unless a fixture sets its own.
configuration:
  apiKeys:
    keys:
      - { key: demo-key-alice, subject: alice, scopes: [read] }
  rules:
    - { prefix: /public, anonymous: true }
`;

const WASM_401 = `{
  "name": "a request without an API key is answered 401 by the filter",
  "request": { "method": "GET", "path": "/orders" },
  "expect": {
    "status": 401,
    "localReply": true,
    "headers": { "content-type": "application/json" },
    "body": { "error": "unauthenticated", "reason": "missing credentials" },
    "upstream": { "reached": false }
  }
}
`;

const WASM_ALLOWED = `{
  "name": "a known API key reaches the upstream as its subject",
  "request": { "method": "GET", "path": "/orders", "headers": { "x-api-key": "demo-key-alice" } },
  "response": { "status": 200, "body": "orders" },
  "expect": {
    "status": 200,
    "body": "orders",
    "upstream": { "reached": true, "headers": { "x-auth-subject": "alice" } }
  }
}
`;

const checkRequest = (method: string, path: string, headers: Record<string, string>): string => {
  const lines = Object.entries({ ':method': method, ':path': path, ':authority': 'shop.example', ...headers })
    .map(([k, v]) => `          ${JSON.stringify(k)}: ${JSON.stringify(v)}`)
    .join('\n');
  return `request:
  attributes:
    request:
      http:
        method: ${method}
        path: ${path}
        host: shop.example
        headers:
${lines}
`;
};

const REQ_PUBLIC = `description: Anyone may GET /public/...
${checkRequest('GET', '/public/menu', {})}expect:
  allowed: true
`;

const REQ_KNOWN = `description: A known API key is let through, and the upstream learns who called.
${checkRequest('GET', '/orders', { 'x-api-key': 'demo-key-alice' })}expect:
  allowed: true
  headers:
    x-user: alice
`;

const REQ_401 = `description: No API key is a 401 with a JSON body.
${checkRequest('GET', '/orders', {})}expect:
  allowed: false
  status: 401
  headers:
    www-authenticate: ApiKey
  body: { error: unauthenticated }
`;

const README = `# A policy project for iacdash

Written by \`iacdash init\`. \`iacdash test\` (in this folder) runs every test
below and prints one line per case and \`N passed, M failed\`.

| Path | What it is | How it is tested |
|---|---|---|
| \`policies/\` | Rego for ext_authz (decision at \`data.envoy.authz.allow\`) and its data | \`*_test.rego\` through \`opa test\` |
| \`lua/<script>.lua\` | a Lua transform (Envoy's Lua filter API) | each fixture in \`lua/fixtures/<script>/\` |
| \`filters/<name>/filter.yaml\` | which proxy-wasm module, and its default configuration | each fixture in \`filters/<name>/fixtures/\`, in iacdash's local proxy-wasm host |
| \`requests/\` | request-level fixtures: a CheckRequest and the answer Envoy must get | against the bundle built from \`policies/\` with \`opa build -t wasm\` |
| \`iacdash.yaml\` (optional) | sidecar config; \`authz\` and \`limits\` apply to request fixtures | |

\`filters/custom-auth/filter.yaml\` says \`module: iacdash:custom-auth\`: the
custom-auth filter that ships with iacdash, found in iacdash's own folder, so
this project works wherever it lives. For your own filter, build it to a
\`.wasm\` and write its path (relative to \`filter.yaml\`) instead.

## Try it

    iacdash test                    # everything
    iacdash test --watch            # rerun on every change
    iacdash test --reporter junit   # for CI (or --reporter tap)

Then change a rule: in \`policies/authz.rego\`, make the 401 a 403. \`iacdash
test\` now fails the Rego test \`test_unknown_key_is_401\` and the request
fixture \`requests/no-key-401.yaml\`, and shows expected against actual.

## Request fixtures

    description: No API key is a 401 with a JSON body.
    request:                      # a CheckRequest in protojson, or a path to a .json file
      attributes: { request: { http: { method: GET, path: /orders, headers: { ... } } } }
    expect:                       # only the keys given are checked
      allowed: false
      status: 401                 # HTTP status of a denial
      headers: { www-authenticate: ApiKey }   # null: absent; { match: REGEX }
      body: { error: unauthenticated }        # a string exactly, or parsed JSON

Also: \`code\`, \`response_headers_to_add\`, \`request_headers_to_remove\`,
\`query_parameters_to_set\`, \`query_parameters_to_remove\`, \`dynamic_metadata\`.
The Lua and wasm fixture formats are described in iacdash's README ("For
policy authors").
`;

/** Relative path → content of every file `iacdash init` writes. */
export const TEMPLATE: Readonly<Record<string, string>> = {
  'README.md': README,
  'policies/authz.rego': POLICY,
  'policies/authz_test.rego': POLICY_TEST,
  'policies/data.json': DATA,
  'lua/add-tenant.lua': LUA,
  'lua/fixtures/add-tenant/adds-public-tenant.yaml': LUA_ADDS,
  'lua/fixtures/add-tenant/keeps-client-tenant.yaml': LUA_KEEPS,
  'filters/custom-auth/filter.yaml': FILTER,
  'filters/custom-auth/fixtures/no-key-401.json': WASM_401,
  'filters/custom-auth/fixtures/known-key-allowed.json': WASM_ALLOWED,
  'requests/public-get-allowed.yaml': REQ_PUBLIC,
  'requests/known-key-allowed.yaml': REQ_KNOWN,
  'requests/no-key-401.yaml': REQ_401,
};
