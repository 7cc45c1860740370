# Example custom rule: GitHub write tools may only touch allowlisted repositories.
#
# Files in policies/custom/examples/ are tested but never built into the policy. To use this rule, copy
# it to policies/custom/, adapt the lists, run `npm run policies:test` and `npm run policies:build`.
# Custom rules can only add denies: the base policy folds every `deny` message in.
package opencrane.custom.repository_allowlist

allowed_repositories := {"acme/website", "acme/handbook"}

# The tools on the "github" tool server that write to a repository named in arguments.repository.
guarded_tools := {"create_issue", "create_pull_request", "push_files"}

guarded_call if {
	input.action == "tools.call"
	input.resource.kind == "tool"
	input.resource.server == "github"
	input.resource.toolName in guarded_tools
}

repository := name if {
	name := input.resource.arguments.repository
	is_string(name)
}

deny contains concat("", [input.resource.toolName, " may only write to allowlisted repositories, not ", repository]) if {
	guarded_call
	not repository in allowed_repositories
}

# Without a readable repository argument the allowlist cannot be checked, so the call is refused.
# (A helper rule, because `not` over an undefined reference inside a call would make the body fail.)
deny contains concat("", [input.resource.toolName, " needs a repository argument to check the allowlist"]) if {
	guarded_call
	not repository
}
