package validation_test

import data.testlib
import data.validation

order := {"item": "widget", "quantity": 3, "note": "leave at door", "tags": ["gift"]}

post(path, body) := testlib.json_request("POST", path, {}, body)

test_valid_order_passes if {
	validation.checked with input as post("/api/orders", order)
	validation.valid with input as post("/api/orders", order)
	errs := validation.errors with input as post("/api/orders", order)
	errs == set()
}

test_put_uses_the_same_schema_on_item_paths if {
	validation.valid with input as testlib.json_request("PUT", "/api/orders/17", {}, order)
	not validation.valid with input as testlib.json_request("PUT", "/api/orders/17", {}, {"item": "x"})
}

test_query_string_does_not_hide_the_path if {
	not validation.valid with input as post("/api/orders?dry_run=1", {})
}

test_reads_and_other_paths_are_not_checked if {
	not validation.checked with input as testlib.request("GET", "/api/orders", {})
	validation.valid with input as testlib.request("GET", "/api/orders", {})
	not validation.checked with input as post("/api/notes", {"anything": true})
	validation.valid with input as post("/api/notes", {"anything": true})
	not validation.checked with input as testlib.json_request("DELETE", "/api/orders/1", {}, {})
}

test_missing_required_fields if {
	errs := validation.errors with input as post("/api/orders", {"note": "x"})
	errs == {
		{"field": "item", "message": "is required"},
		{"field": "quantity", "message": "is required"},
	}
}

test_wrong_types_reported_once if {
	errs := validation.errors with input as post("/api/orders", {"item": 5, "quantity": "3"})
	errs == {
		{"field": "item", "message": "must be of type string"},
		{"field": "quantity", "message": "must be of type integer"},
	}
}

test_integer_rejects_fractions if {
	errs := validation.errors with input as post("/api/orders", {"item": "w", "quantity": 1.5})
	errs == {{"field": "quantity", "message": "must be of type integer"}}
}

test_string_lengths if {
	errs := validation.errors with input as post("/api/orders", {"item": "", "quantity": 1})
	errs == {{"field": "item", "message": "must have at least 1 characters"}}
	long := concat("", [x | some _ in numbers.range(1, 65); x := "a"])
	errs2 := validation.errors with input as post("/api/orders", {"item": long, "quantity": 1})
	errs2 == {{"field": "item", "message": "must have at most 64 characters"}}
}

test_string_length_counts_characters_not_bytes if {
	# 64 three-byte characters: 192 bytes, still within max_length 64.
	item := concat("", [x | some _ in numbers.range(1, 64); x := "€"])
	validation.valid with input as post("/api/orders", {"item": item, "quantity": 1})
}

test_number_range if {
	errs := validation.errors with input as post("/api/orders", {"item": "w", "quantity": 0})
	errs == {{"field": "quantity", "message": "must be at least 1"}}
	errs2 := validation.errors with input as post("/api/orders", {"item": "w", "quantity": 1001})
	errs2 == {{"field": "quantity", "message": "must be at most 1000"}}
	validation.valid with input as post("/api/orders", {"item": "w", "quantity": 1000})
}

test_array_size_and_item_types if {
	errs := validation.errors with input as post("/api/orders", {"item": "w", "quantity": 1, "tags": ["a", 2, "c", null]})
	errs == {
		{"field": "tags[1]", "message": "must be of type string"},
		{"field": "tags[3]", "message": "must be of type string"},
	}
	tags := [t | some i in numbers.range(1, 11); t := json.marshal(i)]
	errs2 := validation.errors with input as post("/api/orders", {"item": "w", "quantity": 1, "tags": tags})
	errs2 == {{"field": "tags", "message": "must have at most 10 items"}}
}

test_unknown_fields_rejected_when_closed if {
	errs := validation.errors with input as post("/api/orders", {"item": "w", "quantity": 1, "price": 0})
	errs == {{"field": "price", "message": "unknown field"}}
}

test_unknown_fields_allowed_when_open if {
	validation.valid with input as post("/api/users", {"name": "Zoe", "email": "zoe@example.com", "extra": 1})
}

test_patch_has_no_required_fields if {
	validation.valid with input as testlib.json_request("PATCH", "/api/orders/1", {}, {"note": "x"})
	validation.valid with input as testlib.json_request("PATCH", "/api/orders/1", {}, {})
	errs := validation.errors with input as testlib.json_request("PATCH", "/api/orders/1", {}, {"item": "x"})
	errs == {{"field": "item", "message": "unknown field"}}
}

test_pattern_and_enum if {
	errs := validation.errors with input as post("/api/users", {"name": "Zoe", "email": "not-an-email", "role": "root"})
	errs == {
		{"field": "email", "message": "has an invalid format"},
		{"field": "role", "message": `must be one of ["viewer","editor"]`},
	}
}

test_null_is_a_type_error if {
	errs := validation.errors with input as post("/api/users", {"name": null, "email": "zoe@example.com"})
	errs == {{"field": "name", "message": "must be of type string"}}
}

test_body_must_be_an_object if {
	errs := validation.errors with input as post("/api/orders", [order])
	errs == {{"field": "body", "message": "request body must be a JSON object"}}
	errs2 := validation.errors with input as testlib.request("POST", "/api/orders", {})
	errs2 == {{"field": "body", "message": "request body must be a JSON object"}}
}

test_truncated_body_denied_with_413 if {
	inp := testlib.truncated_request("POST", "/api/orders", {})
	not validation.valid with input as inp
	validation.http_status == 413 with input as inp
	[e] := validation.sorted_errors with input as inp
	e.field == "body"
}

test_truncated_body_on_unchecked_path_is_fine if {
	validation.valid with input as testlib.truncated_request("POST", "/api/uploads", {})
}

test_bad_body_status_is_400 if {
	validation.http_status == 400 with input as post("/api/orders", {})
}

test_sorted_errors_are_stable if {
	validation.sorted_errors == [
		{"field": "item", "message": "is required"},
		{"field": "quantity", "message": "is required"},
	] with input as post("/api/orders", {})
}

# Without parsed_path (a raw CheckRequest), the path comes from :path.
test_path_without_parsed_path if {
	inp := json.remove(post("/api/orders?x=1", {}), ["parsed_path"])
	validation.path == "/api/orders" with input as inp
	not validation.valid with input as inp
}

# A raw CheckRequest (no parsed_body key) has its JSON body parsed here.
test_raw_check_request_body_is_parsed if {
	inp := json.remove(post("/api/orders", {"item": "w", "quantity": 0}), ["parsed_body"])
	errs := validation.errors with input as inp
	errs == {{"field": "quantity", "message": "must be at least 1"}}
}

# parsed_body: null from the plugin (body not JSON) is not second-guessed.
test_null_parsed_body_is_not_reparsed if {
	inp := object.union(post("/api/orders", {"item": "w", "quantity": 1}), {"parsed_body": null})
	errs := validation.errors with input as inp
	errs == {{"field": "body", "message": "request body must be a JSON object"}}
}
