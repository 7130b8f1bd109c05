# Helpers shared by the *_test.rego files: signed test tokens and request
# inputs in the shape opa-envoy-plugin builds. Only `opa test` loads this
# package's callers, so any builtin (io.jwt.encode_sign) is fine here.
package testlib

# 2026-01-01T00:00:00Z; tests pin the clock with `with time.now_ns as now_ns`.
now_s := 1767225600

now_ns := now_s * 1000000000

# The demo secret as a JWK for io.jwt.encode_sign ("k" is base64url).
demo_jwk := {"kty": "oct", "k": base64url.encode_no_pad(data.config.jwt.secret)}

# Claims a valid demo token carries; claims passed to token() override them.
base_claims := {
	"iss": data.config.jwt.issuer,
	"aud": data.config.jwt.audience,
	"iat": now_s,
	"exp": now_s + 3600,
}

# An HS256 token signed with the demo secret.
token(claims) := io.jwt.encode_sign({"alg": "HS256", "typ": "JWT"}, object.union(base_claims, claims), demo_jwk)

# A token for sub, valid for an hour from now_s.
token_for(sub) := token({"sub": sub})

bearer(t) := {"authorization": concat(" ", ["Bearer", t])}

# The input opa-envoy-plugin derives from a CheckRequest (v3, protojson).
request(method, path, headers) := {
	"attributes": {"request": {"http": {
		"method": method,
		"path": path,
		"host": "api.example.com",
		"headers": object.union({":authority": "api.example.com", ":method": method, ":path": path}, headers),
	}}},
	"parsed_path": split(trim_left(split(path, "?")[0], "/"), "/"),
	"parsed_query": {},
	"parsed_body": null,
	"truncated_body": false,
	"version": {"ext_authz": "v3", "encoding": "protojson"},
}

# A request with a JSON body, as parsed_body.
json_request(method, path, headers, body) := object.union(
	request(method, path, object.union({"content-type": "application/json"}, headers)),
	{
		"attributes": {"request": {"http": {"body": json.marshal(body)}}},
		"parsed_body": body,
	},
)

# A request whose body Envoy cut at max_request_bytes.
truncated_request(method, path, headers) := object.union(
	request(method, path, object.union({"content-type": "application/json", "x-envoy-auth-partial-body": "true"}, headers)),
	{"truncated_body": true, "parsed_body": null},
)
