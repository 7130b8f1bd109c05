package authn_test

import data.authn
import data.testlib

with_token(t) := testlib.request("GET", "/api/items", testlib.bearer(t))

test_valid_token_gives_subject_and_roles if {
	t := testlib.token({"sub": "alice", "roles": ["admin", "ops"]})
	authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
	authn.subject == "alice" with input as with_token(t) with time.now_ns as testlib.now_ns
	authn.roles == {"admin", "ops"} with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_bearer_scheme_is_case_insensitive if {
	t := testlib.token_for("alice")
	inp := testlib.request("GET", "/", {"authorization": concat(" ", ["bearer", t])})
	authn.subject == "alice" with input as inp with time.now_ns as testlib.now_ns
}

test_non_string_roles_are_dropped if {
	t := testlib.token({"sub": "alice", "roles": ["admin", 7, {"x": 1}]})
	authn.roles == {"admin"} with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_missing_roles_claim_gives_no_roles if {
	t := testlib.token_for("alice")
	count(authn.roles) == 0 with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_no_authorization_header if {
	inp := testlib.request("GET", "/api/items", {})
	not authn.authenticated with input as inp with time.now_ns as testlib.now_ns
	authn.reason == "missing_token" with input as inp with time.now_ns as testlib.now_ns
}

test_basic_auth_is_not_a_token if {
	inp := testlib.request("GET", "/api/items", {"authorization": "Basic YWxpY2U6cGFzcw=="})
	not authn.authenticated with input as inp with time.now_ns as testlib.now_ns
	authn.reason == "missing_token" with input as inp with time.now_ns as testlib.now_ns
}

test_empty_bearer_is_missing if {
	inp := testlib.request("GET", "/api/items", {"authorization": "Bearer   "})
	authn.reason == "missing_token" with input as inp with time.now_ns as testlib.now_ns
}

test_expired_token_rejected if {
	t := testlib.token({"sub": "alice", "exp": testlib.now_s - 1})
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
	authn.reason == "invalid_token" with input as with_token(t) with time.now_ns as testlib.now_ns
}

# The same token is accepted until its exp and refused after: decode_verify
# reads the pinned clock through the "time" constraint.
test_token_expires_with_the_clock if {
	t := testlib.token_for("alice")
	authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns + 3599000000000
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns + 3601000000000
}

test_not_yet_valid_token_rejected if {
	t := testlib.token({"sub": "alice", "nbf": testlib.now_s + 600})
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_wrong_secret_rejected if {
	t := io.jwt.encode_sign(
		{"alg": "HS256", "typ": "JWT"},
		object.union(testlib.base_claims, {"sub": "alice"}),
		{"kty": "oct", "k": base64url.encode_no_pad("not-the-demo-secret")},
	)
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
	authn.reason == "invalid_token" with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_other_algorithm_rejected if {
	t := io.jwt.encode_sign({"alg": "HS512", "typ": "JWT"}, object.union(testlib.base_claims, {"sub": "alice"}), testlib.demo_jwk)
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_unsigned_token_rejected if {
	header := base64url.encode_no_pad(`{"alg":"none","typ":"JWT"}`)
	payload := base64url.encode_no_pad(json.marshal(object.union(testlib.base_claims, {"sub": "alice"})))
	t := concat(".", [header, payload, ""])
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_wrong_issuer_rejected if {
	t := testlib.token({"sub": "alice", "iss": "https://evil.example"})
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_wrong_audience_rejected if {
	t := testlib.token({"sub": "alice", "aud": "someone-else"})
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_token_without_exp_rejected if {
	t := io.jwt.encode_sign(
		{"alg": "HS256", "typ": "JWT"},
		{"sub": "alice", "iss": data.config.jwt.issuer, "aud": data.config.jwt.audience},
		testlib.demo_jwk,
	)
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
}

test_token_without_subject_rejected if {
	t := testlib.token({"sub": ""})
	not authn.authenticated with input as with_token(t) with time.now_ns as testlib.now_ns
	t2 := testlib.token({"roles": ["admin"]})
	not authn.authenticated with input as with_token(t2) with time.now_ns as testlib.now_ns
}

test_tampered_payload_rejected if {
	t := testlib.token({"sub": "bob"})
	[header, _, signature] := split(t, ".")
	forged := base64url.encode_no_pad(json.marshal(object.union(testlib.base_claims, {"sub": "alice"})))
	not authn.authenticated with input as with_token(concat(".", [header, forged, signature])) with time.now_ns as testlib.now_ns
}

test_garbage_token_rejected if {
	not authn.authenticated with input as with_token("not.a.jwt") with time.now_ns as testlib.now_ns
	authn.reason == "invalid_token" with input as with_token("not.a.jwt") with time.now_ns as testlib.now_ns
}
