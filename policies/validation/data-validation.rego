# Validates JSON request bodies of write requests against the schemas in
# data.validation.schemas (schemas.json next to this file).
#
# A schema: {"name", "methods": [...], "path": "<glob>", "additional_fields": bool,
#            "fields": {"<name>": {"type", "required", "min_length", "max_length",
#                                  "minimum", "maximum", "max_items", "item_type",
#                                  "enum", "pattern"}}}
# "type" is one of string, number, integer, boolean, array, object, null.
# Only top-level fields are checked; keep the rules small enough to run on
# every request. Messages are built with concat and json.marshal rather than
# sprintf: those are compiled into the wasm module, sprintf is not.
#
# Input is what opa-envoy-plugin builds: input.parsed_body is the parsed JSON
# (or form) body, null when the body was truncated; input.truncated_body is
# true when Envoy sent only part of the body (x-envoy-auth-partial-body, or
# content-length larger than the body). See
# https://www.openpolicyagent.org/docs/envoy/primer (input document).
package validation

method := upper(input.attributes.request.http.method)

# The URL path without the query, from parsed_path when the caller provides
# it (opa-envoy-plugin and iacdash do), else split from the raw :path.
path := concat("/", array.concat([""], input.parsed_path)) if {
	is_array(input.parsed_path)
} else := split(input.attributes.request.http.path, "?")[0]

# Schemas that apply to this request.
applicable contains schema if {
	some schema in data.validation.schemas
	method in schema.methods
	glob.match(schema.path, ["/"], path)
}

checked if count(applicable) > 0

default truncated := false

truncated if input.truncated_body == true

# The parsed body. A raw CheckRequest (say `opa eval -i` on a file from
# policies/examples/) has no parsed_body key; parse the JSON body then, so the
# examples decide the same way as through Envoy.
# (Bound with := rather than tested: a null or false body is still a body.
# Reading input.parsed_body, not has_key(input, ...), lets the sidecar hand
# the policy only the input fields it reads.)
body := b if {
	b := input.parsed_body
} else := json.unmarshal(input.attributes.request.http.body) if {
	json.is_valid(input.attributes.request.http.body)
}

errors contains {"field": "body", "message": "request body was truncated before it could be validated; send a smaller body"} if {
	checked
	truncated
}

errors contains {"field": "body", "message": "request body must be a JSON object"} if {
	checked
	not truncated
	not is_object(body)
}

# Fields to check: [name, spec] for every field of every applicable schema,
# once the body is known to be a whole JSON object.
fields contains [name, spec] if {
	checked
	not truncated
	is_object(body)
	some schema in applicable
	some name, spec in schema.fields
}

errors contains {"field": name, "message": "is required"} if {
	some [name, spec] in fields
	spec.required == true
	not has_key(body, name)
}

errors contains {"field": name, "message": concat(" ", ["must be of type", spec.type])} if {
	some [name, spec] in fields
	value := body[name]
	not has_type(value, spec.type)
}

errors contains {"field": name, "message": "unknown field"} if {
	checked
	not truncated
	is_object(body)
	some schema in applicable
	schema.additional_fields == false
	some name, _ in body
	not schema.fields[name]
}

# [name, spec, value] for present fields of the right type; the value checks
# below only run on these, so a type error is reported once.
typed contains [name, spec, value] if {
	some [name, spec] in fields
	value := body[name]
	has_type(value, spec.type)
}

has_key(obj, key) if {
	_ = obj[key]
}

has_type(value, "integer") if {
	is_number(value)
	floor(value) == value
}

has_type(value, t) if {
	t != "integer"
	type_name(value) == t
}

errors contains {"field": name, "message": concat(" ", ["must have at least", json.marshal(spec.min_length), "characters"])} if {
	some [name, spec, value] in typed
	is_string(value)
	count(value) < spec.min_length
}

errors contains {"field": name, "message": concat(" ", ["must have at most", json.marshal(spec.max_length), "characters"])} if {
	some [name, spec, value] in typed
	is_string(value)
	count(value) > spec.max_length
}

errors contains {"field": name, "message": "has an invalid format"} if {
	some [name, spec, value] in typed
	is_string(value)
	is_string(spec.pattern)
	not regex.match(spec.pattern, value)
}

errors contains {"field": name, "message": concat(" ", ["must be one of", json.marshal(spec.enum)])} if {
	some [name, spec, value] in typed
	is_array(spec.enum)
	not value in spec.enum
}

errors contains {"field": name, "message": concat(" ", ["must be at least", json.marshal(spec.minimum)])} if {
	some [name, spec, value] in typed
	is_number(value)
	value < spec.minimum
}

errors contains {"field": name, "message": concat(" ", ["must be at most", json.marshal(spec.maximum)])} if {
	some [name, spec, value] in typed
	is_number(value)
	value > spec.maximum
}

errors contains {"field": name, "message": concat(" ", ["must have at most", json.marshal(spec.max_items), "items"])} if {
	some [name, spec, value] in typed
	is_array(value)
	count(value) > spec.max_items
}

errors contains {"field": concat("", [name, "[", json.marshal(i), "]"]), "message": concat(" ", ["must be of type", spec.item_type])} if {
	some [name, spec, value] in typed
	is_array(value)
	is_string(spec.item_type)
	some i, item in value
	not has_type(item, spec.item_type)
}

default valid := true

valid := false if count(errors) > 0

# 413 when the body was cut short (it may be fine, but cannot be checked),
# 400 for a body that breaks the schema.
http_status := 413 if {
	truncated
} else := 400

# Errors in a stable order; the first one names the field in the response.
sorted_errors := sort(errors)
