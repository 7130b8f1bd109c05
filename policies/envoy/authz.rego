# The ext_authz decision for the example bundle, at data.envoy.authz.allow
# (the default path of opa-envoy-plugin and iacdash).
#
# It composes the other example policies:
#   authn       who is calling (JWT bearer token)
#   rbac        may that caller use this method and path
#   validation  is the JSON body of a write request well-formed
# and answers with an OPA-Envoy decision object:
#   /health                      allowed, no authentication
#   no or bad credentials        401 + WWW-Authenticate
#   not permitted                403
#   bad body / truncated body    400 / 413
#   otherwise                    allowed, identity headers to upstream
# Denials carry a JSON body; every decision carries dynamic_metadata.
# Contract: https://www.openpolicyagent.org/docs/envoy/primer (output document).
package envoy.authz

import data.authn
import data.rbac
import data.validation

# Refs name the input fields they read (not `request := input...http`), so
# the sidecar hands the policy only those fields: see README "Input pruning".
method := upper(input.attributes.request.http.method)

# The URL path without the query (see validation.path).
path := concat("/", array.concat([""], input.parsed_path)) if {
	is_array(input.parsed_path)
} else := split(input.attributes.request.http.path, "?")[0]

health if {
	path == "/health"
	method in {"GET", "HEAD"}
}

# The caller. The JWT wins; the x-user header is only trusted when the bundle
# sets data.config.allow_header_identity (demos behind a trusted gateway),
# and never when the request carries an Authorization header at all, so a
# bad token cannot be bypassed by adding x-user.
identity := {
	"user": authn.subject,
	"roles": sort(authn.roles | rbac.user_roles(authn.subject)),
	"auth": "jwt",
} if {
	authn.authenticated
} else := {
	"user": user,
	"roles": sort(rbac.user_roles(user)),
	"auth": "header",
} if {
	data.config.allow_header_identity == true
	not input.attributes.request.http.headers.authorization
	user := input.attributes.request.http.headers["x-user"]
	user != ""
}

permitted if rbac.permitted(identity.roles, method, path)

allow := {
	"allowed": true,
	"response_headers_to_add": {"x-decision": "allowed"},
	"dynamic_metadata": {"reason": "health"},
} if {
	health
} else := deny(401, "unauthenticated", "a valid bearer token is required", {}, {"www-authenticate": www_authenticate}) if {
	not identity
} else := deny(403, "forbidden", concat(" ", [identity.user, "may not", method, path]), {"user": identity.user}, {}) if {
	not permitted
} else := deny(validation.http_status, body_error, first_error.message, {"user": identity.user, "field": first_error.field}, {}) if {
	not validation.valid
} else := {
	"allowed": true,
	"headers": {
		"x-user-id": identity.user,
		"x-user-roles": concat(",", identity.roles),
	},
	"request_headers_to_remove": ["x-internal-debug"],
	"response_headers_to_add": {"x-decision": "allowed"},
	"dynamic_metadata": {"user": identity.user, "roles": identity.roles, "auth": identity.auth},
}

# RFC 6750 section 3: no error code when the client sent no credentials.
www_authenticate := `Bearer realm="iacdash"` if {
	authn.reason == "missing_token"
} else := `Bearer realm="iacdash", error="invalid_token"`

body_error := "body_truncated" if {
	validation.truncated
} else := "invalid_body"

first_error := validation.sorted_errors[0]

# A denial: JSON body and headers to the client, reason in dynamic metadata.
# extra_meta and extra_headers are merged in.
deny(status, reason, message, extra_meta, extra_headers) := {
	"allowed": false,
	"http_status": status,
	"headers": object.union({"content-type": "application/json", "x-decision": "denied"}, extra_headers),
	"body": json.marshal(object.union({"error": reason, "message": message}, body_extra(reason))),
	"dynamic_metadata": object.union({"reason": reason}, extra_meta),
}

# Bad bodies name the offending field and list every error.
body_extra(reason) := {"field": first_error.field, "errors": validation.sorted_errors} if {
	reason in {"invalid_body", "body_truncated"}
} else := {}
