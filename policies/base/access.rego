# The access decision every OpenCrane service asks for.
#
# Deny by default. An allow needs a grant in input.grants that is in force, names the person, one of
# their teams or their department, and covers the asked resource. Any matching deny grant wins, and so
# does any message from the security team's rules in package opencrane.custom (or one level of
# subpackages): custom rules can only add denies. input.grants are candidates only; every condition is
# checked here again.
package opencrane.access

# Which resource kind each action is about.
resource_kind_of_action := {
	"tools.list": "tool",
	"tools.call": "tool",
	"resources.read": "tool",
	"prompts.get": "tool",
	"skills.read": "skill",
	"knowledge.read": "knowledge",
}

person_is_active if input.subject.status == "active"

action_fits_resource if resource_kind_of_action[input.action] == input.resource.kind

# The MCP tool the request names; undefined when it asks about the tool server as a whole.
asked_tool_name := name if {
	name := input.resource.toolName
	is_string(name)
}

# A toolName that is neither text nor null cannot be matched against patterns, so it fails the request.
tool_name_malformed if {
	name := input.resource.toolName
	not is_string(name)
	name != null
}

# --- Which candidate grants apply -------------------------------------------------------------------

names_the_person(grant) if {
	grant.subject.kind == "person"
	grant.subject.id == input.subject.personId
}

names_the_person(grant) if {
	grant.subject.kind == "team"
	grant.subject.id in input.subject.teams
}

names_the_person(grant) if {
	grant.subject.kind == "department"
	is_string(input.subject.departmentId)
	grant.subject.id == input.subject.departmentId
}

on_the_asked_resource(grant) if {
	grant.resource.kind == input.resource.kind
	grant.resource.id == input.resource.id
}

# An allow without a valid expiry is ignored...
allow_in_force(grant) if grant.expiresAt == null

allow_in_force(grant) if {
	is_number(grant.expiresAt)
	grant.expiresAt > input.context.now
}

# ...but a deny only stops counting once it has clearly expired.
deny_in_force(grant) if not deny_expired(grant)

deny_expired(grant) if {
	is_number(grant.expiresAt)
	grant.expiresAt <= input.context.now
}

# Absent and null both mean "the whole tool server".
tool_pattern(grant) := object.get(grant.resource, "toolPattern", null)

covers_asked_tool(_) if input.resource.kind != "tool"

covers_asked_tool(grant) if pattern_covers(tool_pattern(grant), asked_tool_name)

pattern_covers(null, _) := true

pattern_covers(pattern, name) if {
	is_string(pattern)
	not contains(pattern, "*")
	pattern == name
}

# A pattern with wildcards: the name starts with the part before the first "*", ends with the part after
# the last one, and holds the parts in between, in order, in what is left. String builtins keep the usual
# one- and two-wildcard patterns cheap; a regex (compiled on every evaluation in WASM) is the last resort.
pattern_covers(pattern, name) if {
	contains(pattern, "*")
	parts := split(pattern, "*")
	first := parts[0]
	last := parts[count(parts) - 1]
	startswith(name, first)
	endswith(name, last)
	count(name) >= count(first) + count(last)
	inner := substring(name, count(first), (count(name) - count(first)) - count(last))
	holds_in_order(array.slice(parts, 1, count(parts) - 1), inner)
}

holds_in_order(parts, _) if count(parts) == 0

holds_in_order(parts, text) if {
	count(parts) == 1
	contains(text, parts[0])
}

holds_in_order(parts, text) if {
	count(parts) > 1
	regex.match(contains_in_order_regex(parts), text)
}

# Only "*" is special in a tool pattern: every literal part is quoted (\Q...\E), and a "\E" inside a
# part is closed, escaped and reopened so it cannot end the quoting early.
contains_in_order_regex(parts) := concat("", ["(?s)^.*", concat(".*", [quoted_literal(part) | some part in parts]), ".*$"])

quoted_literal(text) := concat("", ["\\Q", replace(text, "\\E", "\\E\\\\E\\Q"), "\\E"])

# Asking about the tool server as a whole: any allow means the person can reach something in it...
allow_covers_request(grant) if covers_asked_tool(grant)

allow_covers_request(_) if {
	input.resource.kind == "tool"
	not asked_tool_name
}

# ...but only a deny of the whole server closes it.
deny_covers_request(grant) if covers_asked_tool(grant)

deny_covers_request(grant) if {
	input.resource.kind == "tool"
	not asked_tool_name
	tool_pattern(grant) in {null, "*"}
}

# Indexes into input.grants rather than the grants themselves: numbers are far cheaper to hash in WASM.
matching_allows contains index if {
	some index, grant in input.grants
	grant.effect == "allow"
	on_the_asked_resource(grant)
	names_the_person(grant)
	allow_in_force(grant)
	allow_covers_request(grant)
}

matching_denies contains index if {
	some index, grant in input.grants
	grant.effect == "deny"
	on_the_asked_resource(grant)
	names_the_person(grant)
	deny_in_force(grant)
	deny_covers_request(grant)
}

# --- The security team's rules ----------------------------------------------------------------------

custom_denials contains as_text(message) if some message in data.opencrane.custom.deny

custom_denials contains as_text(message) if some message in data.opencrane.custom[_].deny

as_text(message) := message if is_string(message) else := json.marshal(message)

# --- The decision -----------------------------------------------------------------------------------

default allow := false

allow if {
	person_is_active
	action_fits_resource
	not tool_name_malformed
	count(matching_denies) == 0
	count(custom_denials) == 0
	count(matching_allows) > 0
}

decision := {
	"allow": true,
	"reasons": sort(allow_reasons),
	"grants": sort({input.grants[index].id | some index in matching_allows}),
} if allow
else := {
	"allow": false,
	"reasons": denial_reasons,
	"grants": sort({input.grants[index].id | some index in matching_denies}),
}

# --- Reasons a person can read ----------------------------------------------------------------------

allow_reasons contains concat("", ["grant ", grant.id, " (", subject_label(grant), ") allows ", input.action, " on ", resource_label(grant)]) if {
	some index in matching_allows
	grant := input.grants[index]
}

denial_reasons := reasons if {
	reasons := array.concat(array.concat(sort(gate_reasons), sort(deny_grant_reasons)), sort(custom_denials))
	count(reasons) > 0
} else := [concat("", ["deny by default: no grant allows ", input.action, " on ", input.resource.kind, " ", input.resource.id, asked_tool_suffix])]

gate_reasons contains inactive_person_reason if not person_is_active

gate_reasons contains concat("", ["action ", input.action, " does not apply to resource kind ", input.resource.kind]) if {
	not action_fits_resource
}

gate_reasons contains "resource.toolName must be a string" if tool_name_malformed

inactive_person_reason := "person is suspended" if {
	input.subject.status == "suspended"
} else := "person is not in the directory" if {
	input.subject.status == "unknown"
} else := "person is not active"

deny_grant_reasons contains concat("", ["denied by grant ", grant.id, " (", subject_label(grant), ") on ", resource_label(grant)]) if {
	some index in matching_denies
	grant := input.grants[index]
}

subject_label(grant) := concat(" ", [grant.subject.kind, grant.subject.id])

resource_label(grant) := concat("", ["tool ", grant.resource.id, " for ", tool_scope_label(grant)]) if {
	grant.resource.kind == "tool"
} else := concat(" ", [grant.resource.kind, grant.resource.id])

tool_scope_label(grant) := "every tool" if tool_pattern(grant) == null else := tool_pattern(grant)

asked_tool_suffix := concat("", [" for ", asked_tool_name]) if asked_tool_name else := ""
