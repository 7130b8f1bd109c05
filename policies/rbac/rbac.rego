# Role-based access control over method and path.
#
# Data (bundle files next to this policy, merged at data.rbac):
#   users.json        {"users": {"<user>": {"roles": ["<role>", ...]}}}
#   permissions.json  {"permissions": {"<role>": [{"methods": [...], "path": "<glob>"}
#                                                 | {"methods": [...], "prefix": "<prefix>"}]}}
# "methods" holds upper-case HTTP methods or "*". "path" is a glob with "/" as
# the delimiter ("*" stays within one segment, "**" spans segments);
# "prefix" matches with startswith.
package rbac

# Roles the user directory gives a user; empty for unknown users.
user_roles(user) := {role | some role in data.rbac.users[user].roles}

# True when any of roles may call method on path.
permitted(roles, method, path) if {
	some role in roles
	some grant in data.rbac.permissions[role]
	method_matches(grant.methods, method)
	path_matches(grant, path)
}

method_matches(methods, _) if "*" in methods

method_matches(methods, method) if upper(method) in methods

path_matches(grant, path) if glob.match(grant.path, ["/"], path)

path_matches(grant, path) if startswith(path, grant.prefix)
