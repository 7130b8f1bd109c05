package rbac_test

import data.rbac

can(user, method, path) if rbac.permitted(rbac.user_roles(user), method, path)

test_user_roles_from_directory if {
	rbac.user_roles("alice") == {"admin"}
	rbac.user_roles("erin") == {"support", "team-007-member"}
}

test_unknown_user_has_no_roles if {
	rbac.user_roles("nobody") == set()
	not can("nobody", "GET", "/api/items")
}

test_admin_may_do_anything if {
	can("alice", "DELETE", "/api/orders/1")
	can("alice", "POST", "/admin/settings")
	can("alice", "GET", "/")
}

test_viewer_reads_api_only if {
	can("bob", "GET", "/api/orders")
	can("bob", "HEAD", "/api/orders/1")
	not can("bob", "POST", "/api/orders")
	not can("bob", "DELETE", "/api/orders/1")
	not can("bob", "GET", "/admin/settings")
	not can("bob", "GET", "/apix")
}

test_editor_writes_but_does_not_delete if {
	can("carol", "POST", "/api/orders")
	can("carol", "PUT", "/api/orders/1")
	can("carol", "PATCH", "/api/orders/1")
	not can("carol", "DELETE", "/api/orders/1")
}

test_method_case_is_ignored if {
	can("bob", "get", "/api/orders")
}

test_auditor_glob_spans_segments if {
	can("dave", "GET", "/api/audit/2026/01/events")
	can("dave", "GET", "/admin/audit/log")
	not can("dave", "GET", "/api/auditlog")
	not can("dave", "POST", "/api/audit/x")
}

test_single_star_stays_in_one_segment if {
	can("erin", "GET", "/api/users/42")
	not can("erin", "GET", "/api/users/42/keys")
	can("erin", "POST", "/api/tickets/9/comments")
}

test_team_roles_are_scoped_to_their_team if {
	can("erin", "GET", "/api/teams/007/projects")
	not can("erin", "POST", "/api/teams/007/projects")
	not can("erin", "GET", "/api/teams/008/projects")
	can("frank", "DELETE", "/api/teams/042/projects/1")
	can("frank", "GET", "/api/reports/042/q1")
	not can("frank", "DELETE", "/api/teams/043/projects/1")
}

test_user_without_roles_gets_nothing if {
	rbac.user_roles("mallory") == set()
	not can("mallory", "GET", "/api/orders")
}

test_roles_can_be_passed_directly if {
	rbac.permitted({"viewer"}, "GET", "/api/orders")
	rbac.permitted(["nope", "editor"], "PUT", "/api/orders/1")
	not rbac.permitted(set(), "GET", "/api/orders")
	not rbac.permitted({"no-such-role"}, "GET", "/api/orders")
}

# The benchmark relies on a directory of a few hundred users and roles.
test_directory_is_large if {
	count(data.rbac.users) >= 300
	count(data.rbac.permissions) >= 200
}

# Data integrity: every role a user holds is defined, and every grant has
# methods and exactly one of path or prefix.
test_every_user_role_is_defined if {
	undefined := {[user, role] |
		some user, entry in data.rbac.users
		some role in entry.roles
		not data.rbac.permissions[role]
	}
	undefined == set()
}

test_every_grant_is_well_formed if {
	malformed := {[role, i] |
		some role, grants in data.rbac.permissions
		some i, grant in grants
		not well_formed(grant)
	}
	malformed == set()
}

well_formed(grant) if {
	count(grant.methods) > 0
	is_string(grant.path)
	not grant.prefix
}

well_formed(grant) if {
	count(grant.methods) > 0
	is_string(grant.prefix)
	not grant.path
}
