package envoy.authz_test

import data.envoy.authz
import data.testlib

auth(user) := testlib.bearer(testlib.token_for(user))

body_of(d) := json.unmarshal(d.body)

test_health_needs_no_auth if {
	d := authz.allow with input as testlib.request("GET", "/health", {}) with time.now_ns as testlib.now_ns
	d == {
		"allowed": true,
		"response_headers_to_add": {"x-decision": "allowed"},
		"dynamic_metadata": {"reason": "health"},
	}
	d2 := authz.allow with input as testlib.request("HEAD", "/health", {}) with time.now_ns as testlib.now_ns
	d2.allowed
}

test_health_exemption_is_exact if {
	d := authz.allow with input as testlib.request("POST", "/health", {}) with time.now_ns as testlib.now_ns
	d.http_status == 401
	d2 := authz.allow with input as testlib.request("GET", "/health/../api/orders", {}) with time.now_ns as testlib.now_ns
	d2.http_status == 401
	d3 := authz.allow with input as testlib.request("GET", "/healthz", {}) with time.now_ns as testlib.now_ns
	d3.http_status == 401
}

test_no_token_is_401 if {
	d := authz.allow with input as testlib.request("GET", "/api/orders", {}) with time.now_ns as testlib.now_ns
	d == {
		"allowed": false,
		"http_status": 401,
		"headers": {
			"content-type": "application/json",
			"x-decision": "denied",
			"www-authenticate": `Bearer realm="iacdash"`,
		},
		"body": `{"error":"unauthenticated","message":"a valid bearer token is required"}`,
		"dynamic_metadata": {"reason": "unauthenticated"},
	}
}

test_expired_token_is_401_invalid_token if {
	t := testlib.token({"sub": "alice", "exp": testlib.now_s - 60})
	d := authz.allow with input as testlib.request("GET", "/api/orders", testlib.bearer(t)) with time.now_ns as testlib.now_ns
	d.allowed == false
	d.http_status == 401
	d.headers["www-authenticate"] == `Bearer realm="iacdash", error="invalid_token"`
	body_of(d).error == "unauthenticated"
}

test_wrong_secret_is_401 if {
	t := io.jwt.encode_sign(
		{"alg": "HS256", "typ": "JWT"},
		object.union(testlib.base_claims, {"sub": "alice"}),
		{"kty": "oct", "k": base64url.encode_no_pad("guessed-secret")},
	)
	d := authz.allow with input as testlib.request("GET", "/api/orders", testlib.bearer(t)) with time.now_ns as testlib.now_ns
	d.http_status == 401
	d.headers["www-authenticate"] == `Bearer realm="iacdash", error="invalid_token"`
}

test_alice_get_is_allowed_with_identity_headers if {
	d := authz.allow with input as testlib.request("GET", "/api/orders?limit=5", auth("alice")) with time.now_ns as testlib.now_ns
	d == {
		"allowed": true,
		"headers": {"x-user-id": "alice", "x-user-roles": "admin"},
		"request_headers_to_remove": ["x-internal-debug"],
		"response_headers_to_add": {"x-decision": "allowed"},
		"dynamic_metadata": {"user": "alice", "roles": ["admin"], "auth": "jwt"},
	}
}

test_bob_delete_is_403 if {
	d := authz.allow with input as testlib.request("DELETE", "/api/orders/17", auth("bob")) with time.now_ns as testlib.now_ns
	d == {
		"allowed": false,
		"http_status": 403,
		"headers": {"content-type": "application/json", "x-decision": "denied"},
		"body": `{"error":"forbidden","message":"bob may not DELETE /api/orders/17"}`,
		"dynamic_metadata": {"reason": "forbidden", "user": "bob"},
	}
}

test_unknown_and_roleless_users_are_403 if {
	d := authz.allow with input as testlib.request("GET", "/api/orders", auth("stranger")) with time.now_ns as testlib.now_ns
	d.http_status == 403
	d2 := authz.allow with input as testlib.request("GET", "/api/orders", auth("mallory")) with time.now_ns as testlib.now_ns
	d2.http_status == 403
}

test_token_roles_add_to_directory_roles if {
	# Not in the directory: the token's roles alone decide.
	t := testlib.token({"sub": "zed", "roles": ["viewer"]})
	d := authz.allow with input as testlib.request("GET", "/api/orders", testlib.bearer(t)) with time.now_ns as testlib.now_ns
	d.allowed
	d.headers["x-user-roles"] == "viewer"

	# In the directory: both sets, sorted and comma-joined upstream.
	t2 := testlib.token({"sub": "bob", "roles": ["team-042-lead"]})
	d2 := authz.allow with input as testlib.request("DELETE", "/api/teams/042/projects/1", testlib.bearer(t2)) with time.now_ns as testlib.now_ns
	d2.allowed
	d2.headers["x-user-roles"] == "team-042-lead,viewer"
	d2.dynamic_metadata.roles == ["team-042-lead", "viewer"]
}

test_invalid_body_is_400_naming_the_field if {
	d := authz.allow with input as testlib.json_request("POST", "/api/orders", auth("carol"), {"item": "widget", "quantity": 0}) with time.now_ns as testlib.now_ns
	d == {
		"allowed": false,
		"http_status": 400,
		"headers": {"content-type": "application/json", "x-decision": "denied"},
		"body": `{"error":"invalid_body","errors":[{"field":"quantity","message":"must be at least 1"}],"field":"quantity","message":"must be at least 1"}`,
		"dynamic_metadata": {"reason": "invalid_body", "user": "carol", "field": "quantity"},
	}
}

test_first_error_is_the_smallest_field if {
	d := authz.allow with input as testlib.json_request("POST", "/api/orders", auth("carol"), {}) with time.now_ns as testlib.now_ns
	body_of(d).field == "item"
	count(body_of(d).errors) == 2
}

test_valid_body_is_allowed if {
	d := authz.allow with input as testlib.json_request("POST", "/api/orders", auth("carol"), {"item": "widget", "quantity": 2}) with time.now_ns as testlib.now_ns
	d.allowed
	d.headers["x-user-id"] == "carol"
	d.headers["x-user-roles"] == "editor"
}

test_truncated_body_is_413 if {
	d := authz.allow with input as testlib.truncated_request("POST", "/api/orders", auth("carol")) with time.now_ns as testlib.now_ns
	d.allowed == false
	d.http_status == 413
	body_of(d).error == "body_truncated"
	body_of(d).field == "body"
	d.dynamic_metadata.reason == "body_truncated"
}

# Authorization comes first, so the schema is not revealed to callers who
# may not write at all.
test_forbidden_wins_over_bad_body if {
	d := authz.allow with input as testlib.json_request("POST", "/api/orders", auth("bob"), {"bogus": true}) with time.now_ns as testlib.now_ns
	d.http_status == 403
}

test_unauthenticated_wins_over_bad_body if {
	d := authz.allow with input as testlib.json_request("POST", "/api/orders", {}, {"bogus": true}) with time.now_ns as testlib.now_ns
	d.http_status == 401
}

test_header_identity_off_by_default if {
	data.config.allow_header_identity == false
	d := authz.allow with input as testlib.request("GET", "/api/orders", {"x-user": "alice"}) with time.now_ns as testlib.now_ns
	d.http_status == 401
}

test_header_identity_when_enabled if {
	d := authz.allow with input as testlib.request("GET", "/api/orders", {"x-user": "bob"})
		with data.config.allow_header_identity as true
		with time.now_ns as testlib.now_ns
	d.allowed
	d.headers == {"x-user-id": "bob", "x-user-roles": "viewer"}
	d.dynamic_metadata == {"user": "bob", "roles": ["viewer"], "auth": "header"}

	d2 := authz.allow with input as testlib.request("DELETE", "/api/orders/1", {"x-user": "bob"})
		with data.config.allow_header_identity as true
		with time.now_ns as testlib.now_ns
	d2.http_status == 403
}

test_header_identity_never_overrides_a_bad_token if {
	headers := {"x-user": "alice", "authorization": "Bearer not.a.jwt"}
	d := authz.allow with input as testlib.request("GET", "/api/orders", headers)
		with data.config.allow_header_identity as true
		with time.now_ns as testlib.now_ns
	d.http_status == 401
}

test_jwt_wins_over_header_identity if {
	headers := object.union(auth("bob"), {"x-user": "alice"})
	d := authz.allow with input as testlib.request("DELETE", "/api/orders/1", headers)
		with data.config.allow_header_identity as true
		with time.now_ns as testlib.now_ns
	d.http_status == 403
	d.dynamic_metadata.user == "bob"
}

test_empty_header_identity_is_401 if {
	d := authz.allow with input as testlib.request("GET", "/api/orders", {"x-user": ""})
		with data.config.allow_header_identity as true
		with time.now_ns as testlib.now_ns
	d.http_status == 401
}

# A raw CheckRequest (no parsed_path) still decides on the path alone.
test_path_without_parsed_path if {
	inp := json.remove(testlib.request("DELETE", "/api/orders/1?x=y", auth("bob")), ["parsed_path"])
	d := authz.allow with input as inp with time.now_ns as testlib.now_ns
	body_of(d).message == "bob may not DELETE /api/orders/1"
}

# The decision is always an object with a boolean "allowed" (never undefined),
# whatever the input.
test_decision_is_always_defined if {
	d := authz.allow with input as {} with time.now_ns as testlib.now_ns
	is_boolean(d.allowed)
	d2 := authz.allow with input as {"attributes": {}} with time.now_ns as testlib.now_ns
	is_boolean(d2.allowed)
	d3 := authz.allow with input as testlib.request("GET", "/", {}) with time.now_ns as testlib.now_ns
	is_boolean(d3.allowed)
	d4 := authz.allow with input as testlib.request("PATCH", "/api/orders/1", auth("alice")) with time.now_ns as testlib.now_ns
	is_boolean(d4.allowed)
	d5 := authz.allow with input as testlib.truncated_request("PUT", "/api/orders/1", auth("alice")) with time.now_ns as testlib.now_ns
	is_boolean(d5.allowed)
}
