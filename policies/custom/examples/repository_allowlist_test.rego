# Tests for the repository allowlist example. They assert on this rule's own messages only, so other
# custom rules loaded beside it cannot make them fail.
package opencrane.custom_test.repository_allowlist

import data.opencrane.access

github_writer := {
	"id": "g1",
	"subject": {"kind": "team", "id": "web"},
	"resource": {"kind": "tool", "id": "github", "toolPattern": null},
	"effect": "allow",
	"expiresAt": null,
}

call(tool_name, arguments) := {
	"subject": {"personId": "alice", "status": "active", "teams": ["web"], "departmentId": "eng"},
	"action": "tools.call",
	"resource": {"kind": "tool", "id": "github", "server": "github", "toolName": tool_name, "arguments": arguments},
	"context": {"now": 1000},
	"grants": [github_writer],
}

rule_messages(decision) := {reason |
	some reason in decision.reasons
	contains(reason, "repositor")
}

test_a_guarded_tool_on_an_allowlisted_repository_is_not_denied_by_the_rule if {
	decision := access.decision with input as call("create_issue", {"repository": "acme/website"})
	count(rule_messages(decision)) == 0
}

test_a_guarded_tool_on_another_repository_is_denied if {
	decision := access.decision with input as call("create_issue", {"repository": "evil/fork"})
	not decision.allow
	"create_issue may only write to allowlisted repositories, not evil/fork" in decision.reasons
}

test_a_guarded_tool_without_a_repository_is_denied if {
	decision := access.decision with input as call("push_files", {})
	not decision.allow
	"push_files needs a repository argument to check the allowlist" in decision.reasons
}

test_a_guarded_tool_with_a_repository_that_is_not_text_is_denied if {
	decision := access.decision with input as call("push_files", {"repository": ["acme/website"]})
	not decision.allow
	"push_files needs a repository argument to check the allowlist" in decision.reasons
}

test_a_read_only_tool_is_not_guarded if {
	decision := access.decision with input as call("list_issues", {"repository": "evil/fork"})
	count(rule_messages(decision)) == 0
}

test_another_tool_server_is_not_guarded if {
	request := json.patch(call("create_issue", {"repository": "evil/fork"}), [{"op": "replace", "path": "/resource/server", "value": "gitlab"}])
	decision := access.decision with input as request
	count(rule_messages(decision)) == 0
}
