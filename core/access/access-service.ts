// Decisions as the rest of the product asks for them: a person, an action and a resource in, the
// policy engine's verdict out. The index supplies the subject and the candidate grants.
import type { Action, Decision, DecisionInput, ResourceKind } from '../../policies/types.ts';
import type { AccessIndex } from './access-index.ts';

export interface PolicyEvaluator {
  decide(input: DecisionInput): Decision;
}

export interface AccessQuestion {
  personId: string;
  action: Action;
  resource: { kind: ResourceKind; id: string; server?: string | undefined; toolName?: string | undefined; arguments?: unknown };
  assistantId?: string | undefined;
}

export interface AccessService {
  decide(question: AccessQuestion): Decision;
  /** The decision together with the input it was made on, for explanations. */
  decideWithInput(question: AccessQuestion): { decision: Decision; input: DecisionInput };
}

export function createAccessService(deps: {
  index: Pick<AccessIndex, 'subject' | 'candidates'>;
  engine: PolicyEvaluator;
  now?: () => number;
  instance?: string;
}): AccessService {
  const now = deps.now ?? Date.now;
  const buildInput = (q: AccessQuestion): DecisionInput => {
    const subject = deps.index.subject(q.personId);
    const grants = deps.index.candidates(subject, q.resource.kind, q.resource.id);
    const resource: DecisionInput['resource'] = { kind: q.resource.kind, id: q.resource.id };
    if (q.resource.server !== undefined) resource.server = q.resource.server;
    if (q.resource.toolName !== undefined) resource.toolName = q.resource.toolName;
    if (q.resource.arguments !== undefined) resource.arguments = q.resource.arguments;
    return {
      subject,
      assistant: q.assistantId ? { id: q.assistantId } : null,
      action: q.action,
      resource,
      context: deps.instance ? { now: now(), instance: deps.instance } : { now: now() },
      grants,
    };
  };
  return {
    decide: (q) => deps.engine.decide(buildInput(q)),
    decideWithInput(q) {
      const input = buildInput(q);
      return { decision: deps.engine.decide(input), input };
    },
  };
}
