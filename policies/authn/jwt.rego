# JWT bearer authentication for the example bundle.
#
# The demo verifies HS256 tokens with the shared secret in data.config.jwt.secret.
# Production should verify RS256/ES256 against the issuer's JWKS instead, e.g.
# constraints {"cert": <JWKS JSON string>, "iss": ..., "aud": ...}, with the
# JWKS shipped as bundle data (http.send is not available in wasm).
package authn

# Envoy lower-cases header names before they reach ext_authz.
authorization := input.attributes.request.http.headers.authorization

# The token after "Bearer " (scheme is case-insensitive, RFC 7235).
token := t if {
	lower(substring(authorization, 0, 7)) == "bearer "
	t := trim_space(substring(authorization, 7, -1))
	t != ""
}

# decode_verify checks the signature, alg, iss, aud, exp and nbf. "time" is
# passed explicitly so `with time.now_ns as ...` pins it in tests; without
# it decode_verify reads the wall clock, which no test can fix.
constraints := {
	"secret": data.config.jwt.secret,
	"alg": "HS256",
	"iss": data.config.jwt.issuer,
	"aud": data.config.jwt.audience,
	"time": time.now_ns(),
}

claims := payload if {
	[valid, _, payload] := io.jwt.decode_verify(token, constraints)
	valid

	# A token without an expiry never stops working; refuse it.
	is_number(payload.exp)
}

default authenticated := false

authenticated if {
	is_string(claims.sub)
	claims.sub != ""
}

subject := claims.sub if authenticated

# Roles granted by the token issuer, from the "roles" claim (strings only).
roles contains role if {
	authenticated
	some role in claims.roles
	is_string(role)
}

# Why authentication failed, for the 401 body and the WWW-Authenticate error.
reason := "missing_token" if {
	not token
} else := "invalid_token" if {
	not authenticated
}
