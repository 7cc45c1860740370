# The snapshot design: the directory and the grants are the policy's data document, and the input only
# says who asks for what. This wrapper looks the person and their candidate grants up in data and hands
# them to the same base rules (data.opencrane.access.decision), so both designs decide identically.
#
# data.directory.people[personId] = {"status", "departmentId", "teams", "roles"}
# data.directory.grants[resourceKind][resourceId][subjectKind][subjectId] = [grant, ...]
package opencrane.snapshot

person := data.directory.people[input.personId]

# A person the directory does not know is "unknown", which the base rules deny.
subject := {
	"personId": input.personId,
	"status": person.status,
	"teams": person.teams,
	"departmentId": person.departmentId,
	"roles": person.roles,
} if person
else := {"personId": input.personId, "status": "unknown", "teams": [], "departmentId": null, "roles": []}

grants_on_resource := data.directory.grants[input.resource.kind][input.resource.id]

person_grants := grants if {
	grants := grants_on_resource.person[input.personId]
} else := []

department_grants := grants if {
	grants := grants_on_resource.department[subject.departmentId]
} else := []

team_grants := [grant | some team in subject.teams; some grant in grants_on_resource.team[team]]

candidate_grants := array.concat(array.concat(person_grants, department_grants), team_grants)

decision := result if {
	result := data.opencrane.access.decision with input as {
		"subject": subject,
		"assistant": object.get(input, "assistant", null),
		"action": input.action,
		"resource": input.resource,
		"context": input.context,
		"grants": candidate_grants,
	}
}
