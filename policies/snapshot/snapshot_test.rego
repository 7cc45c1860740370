# Tests of the snapshot wrapper: it must find the person and their candidate grants in data and give
# the same decision the base rules give for the equivalent input.
package opencrane.snapshot_test

import data.opencrane.snapshot

now := 1000

team_allow := {"id": "g1", "subject": {"kind": "team", "id": "platform"}, "resource": {"kind": "tool", "id": "github", "toolPattern": "list_*"}, "effect": "allow", "expiresAt": null}

person_deny := {"id": "g2", "subject": {"kind": "person", "id": "alice"}, "resource": {"kind": "tool", "id": "github", "toolPattern": "delete_*"}, "effect": "deny", "expiresAt": null}

department_allow := {"id": "g3", "subject": {"kind": "department", "id": "eng"}, "resource": {"kind": "skill", "id": "summarise", "toolPattern": null}, "effect": "allow", "expiresAt": null}

directory := {
	"people": {
		"alice": {"status": "active", "departmentId": "eng", "teams": ["platform"], "roles": []},
		"carol": {"status": "suspended", "departmentId": "eng", "teams": ["platform"], "roles": []},
	},
	"grants": {
		"tool": {"github": {"team": {"platform": [team_allow]}, "person": {"alice": [person_deny]}}},
		"skill": {"summarise": {"department": {"eng": [department_allow]}}},
	},
}

ask(person_id, action, resource) := {"personId": person_id, "action": action, "resource": resource, "context": {"now": now}}

cases := {
	"a team grant found in the snapshot allows": {
		"input": ask("alice", "tools.call", {"kind": "tool", "id": "github", "toolName": "list_repos"}),
		"want": {"allow": true, "grants": ["g1"], "reasons": ["grant g1 (team platform) allows tools.call on tool github for list_*"]},
	},
	"a person deny found in the snapshot wins": {
		"input": ask("alice", "tools.call", {"kind": "tool", "id": "github", "toolName": "delete_repo"}),
		"want": {"allow": false, "grants": ["g2"], "reasons": ["denied by grant g2 (person alice) on tool github for delete_*"]},
	},
	"a department grant found in the snapshot allows": {
		"input": ask("alice", "skills.read", {"kind": "skill", "id": "summarise"}),
		"want": {"allow": true, "grants": ["g3"], "reasons": ["grant g3 (department eng) allows skills.read on skill summarise"]},
	},
	"a suspended person in the snapshot is denied": {
		"input": ask("carol", "tools.call", {"kind": "tool", "id": "github", "toolName": "list_repos"}),
		"want": {"allow": false, "grants": [], "reasons": ["person is suspended"]},
	},
	"a person missing from the snapshot is unknown and denied": {
		"input": ask("mallory", "tools.call", {"kind": "tool", "id": "github", "toolName": "list_repos"}),
		"want": {"allow": false, "grants": [], "reasons": ["person is not in the directory"]},
	},
	"a resource with no grants in the snapshot is denied by default": {
		"input": ask("alice", "knowledge.read", {"kind": "knowledge", "id": "handbook"}),
		"want": {"allow": false, "grants": [], "reasons": ["deny by default: no grant allows knowledge.read on knowledge handbook"]},
	},
}

failed_cases contains name if {
	some name, case in cases
	got := snapshot.decision with input as case.input with data.directory as directory
	got != case.want
	print(name, "got", got)
}

test_snapshot_decisions_match_the_table if count(failed_cases) == 0

