# Table-driven tests of the base decision. Each case names the property it checks; a failing case is
# printed with what it got.
package opencrane.access_test

import data.opencrane.access

now := 1000000

alice := {"personId": "alice", "status": "active", "teams": ["platform", "sre"], "departmentId": "eng"}

grant(id, subject_kind, subject_id, kind, resource_id, pattern, effect, expires_at) := {
	"id": id,
	"subject": {"kind": subject_kind, "id": subject_id},
	"resource": {"kind": kind, "id": resource_id, "toolPattern": pattern},
	"effect": effect,
	"expiresAt": expires_at,
}

tool_call(tool_name, grants) := {
	"subject": alice,
	"action": "tools.call",
	"resource": {"kind": "tool", "id": "github", "toolName": tool_name},
	"context": {"now": now},
	"grants": grants,
}

whole_server(action, grants) := {
	"subject": alice,
	"action": action,
	"resource": {"kind": "tool", "id": "github"},
	"context": {"now": now},
	"grants": grants,
}

team_list_allow := grant("g1", "team", "platform", "tool", "github", "list_*", "allow", null)

team_server_allow := grant("g2", "team", "sre", "tool", "github", null, "allow", null)

department_create_deny := grant("g3", "department", "eng", "tool", "github", "create_*", "deny", null)

no_grant_for_create := "deny by default: no grant allows tools.call on tool github for create_issue"

cases := {
	"a team allow with a wildcard pattern allows a matching tool": {
		"input": tool_call("list_repos", [team_list_allow]),
		"want": {"allow": true, "grants": ["g1"], "reasons": ["grant g1 (team platform) allows tools.call on tool github for list_*"]},
	},
	"a department deny wins over a team allow": {
		"input": tool_call("create_issue", [team_server_allow, department_create_deny]),
		"want": {"allow": false, "grants": ["g3"], "reasons": ["denied by grant g3 (department eng) on tool github for create_*"]},
	},
	"a server-wide allow lists every matching grant id in order": {
		"input": tool_call("list_repos", [team_server_allow, team_list_allow]),
		"want": {"allow": true, "grants": ["g1", "g2"], "reasons": [
			"grant g1 (team platform) allows tools.call on tool github for list_*",
			"grant g2 (team sre) allows tools.call on tool github for every tool",
		]},
	},
	"a person grant with an exact tool name allows only that tool": {
		"input": tool_call("create_issue", [grant("g4", "person", "alice", "tool", "github", "create_issue", "allow", null)]),
		"want": {"allow": true, "grants": ["g4"], "reasons": ["grant g4 (person alice) allows tools.call on tool github for create_issue"]},
	},
	"an exact pattern does not reach another tool": {
		"input": tool_call("create_issue", [grant("g4", "person", "alice", "tool", "github", "create_issues", "allow", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a pattern that does not match denies by default": {
		"input": tool_call("create_issue", [team_list_allow]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"no grants at all is a deny by default": {
		"input": tool_call("create_issue", []),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a grant for another person does not apply": {
		"input": tool_call("create_issue", [grant("g5", "person", "bob", "tool", "github", null, "allow", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a grant for a team the person is not in does not apply": {
		"input": tool_call("create_issue", [grant("g5", "team", "finance", "tool", "github", null, "allow", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a grant for another department does not apply": {
		"input": tool_call("create_issue", [grant("g5", "department", "sales", "tool", "github", null, "allow", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a department grant never matches a person without a department": {
		"input": object.union(tool_call("create_issue", [grant("g5", "department", null, "tool", "github", null, "allow", null)]), {"subject": {"departmentId": null}}),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a grant on another tool server does not apply": {
		"input": tool_call("create_issue", [grant("g5", "person", "alice", "tool", "jira", null, "allow", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a grant on a skill with the same id does not reach the tool": {
		"input": tool_call("create_issue", [grant("g5", "person", "alice", "skill", "github", null, "allow", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"a grant with an unknown effect is ignored": {
		"input": tool_call("create_issue", [grant("g5", "person", "alice", "tool", "github", null, "maybe", null)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"an expired allow is ignored": {
		"input": tool_call("create_issue", [grant("g6", "person", "alice", "tool", "github", null, "allow", now)]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"an allow with an unreadable expiry is ignored": {
		"input": tool_call("create_issue", [grant("g6", "person", "alice", "tool", "github", null, "allow", "tomorrow")]),
		"want": {"allow": false, "grants": [], "reasons": [no_grant_for_create]},
	},
	"an allow that expires later is in force": {
		"input": tool_call("create_issue", [grant("g6", "person", "alice", "tool", "github", null, "allow", now + 1)]),
		"want": {"allow": true, "grants": ["g6"], "reasons": ["grant g6 (person alice) allows tools.call on tool github for every tool"]},
	},
	"an expired deny no longer denies": {
		"input": tool_call("create_issue", [team_server_allow, grant("g7", "person", "alice", "tool", "github", null, "deny", now)]),
		"want": {"allow": true, "grants": ["g2"], "reasons": ["grant g2 (team sre) allows tools.call on tool github for every tool"]},
	},
	"a deny with an unreadable expiry still denies": {
		"input": tool_call("create_issue", [team_server_allow, grant("g7", "person", "alice", "tool", "github", null, "deny", "never")]),
		"want": {"allow": false, "grants": ["g7"], "reasons": ["denied by grant g7 (person alice) on tool github for every tool"]},
	},
	"a suspended person gets nothing even with an allow": {
		"input": object.union(tool_call("list_repos", [team_list_allow]), {"subject": {"status": "suspended"}}),
		"want": {"allow": false, "grants": [], "reasons": ["person is suspended"]},
	},
	"a person unknown to the directory gets nothing": {
		"input": object.union(tool_call("list_repos", [team_list_allow]), {"subject": {"status": "unknown"}}),
		"want": {"allow": false, "grants": [], "reasons": ["person is not in the directory"]},
	},
	"a person with any other status gets nothing": {
		"input": object.union(tool_call("list_repos", [team_list_allow]), {"subject": {"status": "pending"}}),
		"want": {"allow": false, "grants": [], "reasons": ["person is not active"]},
	},
	"an action that does not fit the resource kind is denied": {
		"input": object.union(tool_call("list_repos", [team_list_allow]), {"action": "skills.read"}),
		"want": {"allow": false, "grants": [], "reasons": ["action skills.read does not apply to resource kind tool"]},
	},
	"a tool name that is not text is denied": {
		"input": tool_call(42, [team_server_allow]),
		"want": {"allow": false, "grants": [], "reasons": ["resource.toolName must be a string"]},
	},
	"every gate, deny and custom reason is listed in that order": {
		"input": object.union(tool_call("create_issue", [department_create_deny]), {"subject": {"status": "suspended"}}),
		"custom": {"deny": {"custom says no"}},
		"want": {"allow": false, "grants": ["g3"], "reasons": [
			"person is suspended",
			"denied by grant g3 (department eng) on tool github for create_*",
			"custom says no",
		]},
	},
	"tools.list on the whole server is allowed by any allow pattern": {
		"input": whole_server("tools.list", [team_list_allow]),
		"want": {"allow": true, "grants": ["g1"], "reasons": ["grant g1 (team platform) allows tools.list on tool github for list_*"]},
	},
	"a null tool name asks about the whole server": {
		"input": tool_call(null, [team_list_allow]),
		"want": {"allow": true, "grants": ["g1"], "reasons": ["grant g1 (team platform) allows tools.call on tool github for list_*"]},
	},
	"a partial deny does not close the whole server": {
		"input": whole_server("tools.list", [team_list_allow, department_create_deny]),
		"want": {"allow": true, "grants": ["g1"], "reasons": ["grant g1 (team platform) allows tools.list on tool github for list_*"]},
	},
	"a star deny closes the whole server": {
		"input": whole_server("tools.list", [team_list_allow, grant("g8", "team", "sre", "tool", "github", "*", "deny", null)]),
		"want": {"allow": false, "grants": ["g8"], "reasons": ["denied by grant g8 (team sre) on tool github for *"]},
	},
	"a deny without a pattern closes the whole server": {
		"input": whole_server("tools.list", [team_list_allow, grant("g8", "team", "sre", "tool", "github", null, "deny", null)]),
		"want": {"allow": false, "grants": ["g8"], "reasons": ["denied by grant g8 (team sre) on tool github for every tool"]},
	},
	"a resource read is matched by its URI like a tool name": {
		"input": object.union(tool_call("docs://handbook/intro", [grant("g9", "team", "platform", "tool", "github", "docs://*", "allow", null)]), {"action": "resources.read"}),
		"want": {"allow": true, "grants": ["g9"], "reasons": ["grant g9 (team platform) allows resources.read on tool github for docs://*"]},
	},
	"a prompt outside every pattern is denied by default": {
		"input": object.union(tool_call("release_notes", [team_list_allow]), {"action": "prompts.get"}),
		"want": {"allow": false, "grants": [], "reasons": ["deny by default: no grant allows prompts.get on tool github for release_notes"]},
	},
	"no allow on the whole server denies by default": {
		"input": whole_server("tools.list", []),
		"want": {"allow": false, "grants": [], "reasons": ["deny by default: no grant allows tools.list on tool github"]},
	},
	"a skill grant allows reading the skill": {
		"input": {"subject": alice, "action": "skills.read", "resource": {"kind": "skill", "id": "summarise"}, "context": {"now": now}, "grants": [grant("g9", "department", "eng", "skill", "summarise", null, "allow", null)]},
		"want": {"allow": true, "grants": ["g9"], "reasons": ["grant g9 (department eng) allows skills.read on skill summarise"]},
	},
	"knowledge without a grant is denied by default": {
		"input": {"subject": alice, "action": "knowledge.read", "resource": {"kind": "knowledge", "id": "handbook"}, "context": {"now": now}, "grants": []},
		"want": {"allow": false, "grants": [], "reasons": ["deny by default: no grant allows knowledge.read on knowledge handbook"]},
	},
	"a custom deny in package opencrane.custom wins over an allow": {
		"input": tool_call("list_repos", [team_list_allow]),
		"custom": {"deny": {"repositories outside the allowlist are off limits"}},
		"want": {"allow": false, "grants": [], "reasons": ["repositories outside the allowlist are off limits"]},
	},
	"a custom deny in a subpackage wins over an allow": {
		"input": tool_call("list_repos", [team_list_allow]),
		"custom": {"contractors": {"deny": {"contractors never reach github"}}},
		"want": {"allow": false, "grants": [], "reasons": ["contractors never reach github"]},
	},
	"a custom deny message that is not text is shown as JSON": {
		"input": tool_call("list_repos", [team_list_allow]),
		"custom": {"deny": {{"code": 7}}},
		"want": {"allow": false, "grants": [], "reasons": ["{\"code\":7}"]},
	},
}

failed_cases contains name if {
	some name, case in cases
	got := access.decision with input as case.input with data.opencrane.custom as object.get(case, "custom", {})
	got != case.want
	print(name, "got", got)
}

test_decisions_match_the_table if count(failed_cases) == 0

# Tool patterns: only "*" is special, and it matches any run of characters, including none.
pattern_cases := [
	["*", "anything", true],
	["*", "", true],
	["list_*", "list_", true],
	["list_*", "list_repos", true],
	["list_*", "lis", false],
	["*_issue", "create_issue", true],
	["*_issue", "create_issues", false],
	["create_*_issue", "create__issue", true],
	["create_*_issue", "create_issue", false],
	["*repo*", "list_repos", true],
	["*repo*", "list_pos", false],
	["a*b*c", "aXbYc", true],
	["a*b*c", "aXcYb", false],
	["a*b*c*d", "abcd", true],
	["a*c*b*d", "abcd", false],
	["a.b*", "a.bc", true],
	["a.b*", "aXbc", false],
	["q?*", "q?z", true],
	["q?*", "qaz", false],
	["x[1]*", "x[1]y", true],
	["x[1]*", "x1y", false],
	["*\\E*\\E*", "a\\Eb\\Ec", true],
	["*\\E*\\E*", "a\\Eb", false],
	["*.*.*", "a.b.c", true],
	["*.*.*", "a.bc", false],
	["**", "x", true],
	["ü*", "über", true],
	["*r", "über", true],
	["*ü*r", "über", true],
]

failed_patterns contains [pattern, name] if {
	some [pattern, name, want] in pattern_cases
	got := access.decision.allow with input as tool_call(name, [grant("g", "person", "alice", "tool", "github", pattern, "allow", null)])
		with data.opencrane.custom as {}
	got != want
}

test_tool_patterns_treat_only_star_as_special if count(failed_patterns) == 0

test_absent_tool_pattern_means_the_whole_server if {
	absent := json.remove(grant("g", "person", "alice", "tool", "github", null, "allow", null), ["resource/toolPattern"])
	access.decision.allow with input as tool_call("anything", [absent]) with data.opencrane.custom as {}
}
