// Differential tests: over generated organisations, grants and questions, both WASM engines must decide
// exactly as the plain reference model does (allow and the set of deciding grant ids).
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { AccessIndex, createAccessService } from '../core/index.ts';
import { loadPolicyEngine, loadSnapshotEngine, type DirectorySnapshot, type PolicyEngine } from './index.ts';
import { referenceDecision, wildcardMatches } from './reference-model.ts';
import { ACTIONS, type DecisionInput, type DecisionSubject, type PolicyGrant } from './types.ts';

const NOW = 1_700_000_000_000;
const PEOPLE = ['p1', 'p2', 'p3', 'p4'];
const TEAMS = ['t1', 't2', 't3'];
const DEPARTMENTS = ['d1', 'd2'];
const RESOURCES = [
  { kind: 'tool', id: 'github' },
  { kind: 'tool', id: 'jira' },
  { kind: 'skill', id: 'github' },
  { kind: 'skill', id: 's1' },
  { kind: 'knowledge', id: 'k1' },
] as const;
// Names and patterns with characters that are special in globs and regexes, so "only * is special" is tested.
const TOOL_NAMES = ['create_issue', 'list_repos', 'list_', 'a.bc', 'c?d', 'cxd', 'x[1]y', 'q\\Eq', 'über', ''];
const PATTERNS = [null, undefined, '*', '*', 'create_issue', 'list_*', '*_issue', '*e*', 'a.b*', 'c?d', 'x[1]*', '*\\E*', 'c*d*', '*r', ''];

const personArbitrary = fc.record({
  status: fc.constantFrom('active', 'active', 'suspended' as const),
  departmentId: fc.constantFrom<string | null>(null, ...DEPARTMENTS),
  teams: fc.subarray(TEAMS),
});

const grantArbitrary = fc.record({
  subjectKind: fc.constantFrom('person', 'team', 'department' as const),
  subjectIndex: fc.nat(3),
  resource: fc.constantFrom(...RESOURCES),
  toolPattern: fc.constantFrom(...PATTERNS),
  effect: fc.constantFrom('allow', 'allow', 'deny' as const),
  expiresAt: fc.constantFrom<number | null>(null, null, NOW - 1, NOW, NOW + 1),
});

const organisationArbitrary = fc.record({
  // Not every person id exists: a missing one is "unknown" to the directory.
  people: fc.dictionary(fc.constantFrom(...PEOPLE.slice(0, 3)), personArbitrary),
  grants: fc.array(grantArbitrary, { maxLength: 10 }),
});

const questionArbitrary = fc.record({
  personId: fc.constantFrom(...PEOPLE),
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
  // About one question in three asks about a tool server as a whole.
  toolName: fc.option(fc.constantFrom(...TOOL_NAMES), { nil: undefined, freq: 3 }),
});

type Organisation = typeof organisationArbitrary extends fc.Arbitrary<infer T> ? T : never;
type Question = typeof questionArbitrary extends fc.Arbitrary<infer T> ? T : never;

function toSnapshot(organisation: Organisation): DirectorySnapshot {
  const subjectPools = { person: PEOPLE, team: TEAMS, department: [...DEPARTMENTS, 'd3'] };
  const grants = organisation.grants.map((generated, index): PolicyGrant => {
    const pool = subjectPools[generated.subjectKind];
    const resource: PolicyGrant['resource'] = { kind: generated.resource.kind, id: generated.resource.id };
    if (generated.toolPattern !== undefined) resource.toolPattern = generated.toolPattern;
    return {
      id: `g${index}`,
      subject: { kind: generated.subjectKind, id: pool[generated.subjectIndex % pool.length] ?? 'nobody' },
      resource,
      effect: generated.effect,
      expiresAt: generated.expiresAt,
    };
  });
  const people = Object.entries(organisation.people).map(([id, person]) => ({ id, ...person }));
  return { people, grants };
}

function subjectOf(snapshot: DirectorySnapshot, personId: string): DecisionSubject {
  const person = snapshot.people.find((candidate) => candidate.id === personId);
  if (person === undefined) return { personId, status: 'unknown', teams: [], departmentId: null, roles: [] };
  return { personId, status: person.status, teams: person.teams, departmentId: person.departmentId, roles: [] };
}

function inputFor(snapshot: DirectorySnapshot, question: Question): DecisionInput {
  const resource: DecisionInput['resource'] = { kind: question.resource.kind, id: question.resource.id };
  if (question.toolName !== undefined) resource.toolName = question.toolName;
  // Every grant of the organisation is a candidate: the policy must filter them itself.
  return { subject: subjectOf(snapshot, question.personId), action: question.action, resource, context: { now: NOW }, grants: snapshot.grants };
}

const sorted = (ids: string[]) => [...ids].sort();

describe('the WASM policy decides as the reference model', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = await loadPolicyEngine();
    expect(engine.available).toBe(true);
  });

  it('grants in the input: allow and deciding grant ids equal the model for generated organisations', () => {
    fc.assert(
      fc.property(organisationArbitrary, fc.array(questionArbitrary, { minLength: 8, maxLength: 8 }), (organisation, questions) => {
        const snapshot = toSnapshot(organisation);
        for (const question of questions) {
          const input = inputFor(snapshot, question);
          const decision = engine.decide(input);
          const expected = referenceDecision(input);
          expect({ allow: decision.allow, grants: sorted(decision.grants) }, JSON.stringify(input)).toEqual(expected);
          expect(decision.reasons.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('the production path (access index picks the candidates, WASM decides) equals the model', () => {
    fc.assert(
      fc.property(organisationArbitrary, fc.array(questionArbitrary, { minLength: 8, maxLength: 8 }), (organisation, questions) => {
        const snapshot = toSnapshot(organisation);
        const index = new AccessIndex();
        index.load({
          people: snapshot.people.map(({ id, status, departmentId }) => ({ id, status, departmentId })),
          memberships: snapshot.people.flatMap((p) => p.teams.map((teamId) => ({ teamId, personId: p.id }))),
          grants: snapshot.grants,
        });
        const access = createAccessService({ index, engine, now: () => NOW });
        for (const question of questions) {
          const decision = access.decide({
            personId: question.personId, action: question.action,
            resource: { kind: question.resource.kind, id: question.resource.id, toolName: question.toolName },
          });
          const input = inputFor(snapshot, question);
          expect({ allow: decision.allow, grants: sorted(decision.grants) }, JSON.stringify(input)).toEqual(referenceDecision(input));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('snapshot in data: allow and deciding grant ids equal the model for generated organisations', async () => {
    await fc.assert(
      fc.asyncProperty(organisationArbitrary, fc.array(questionArbitrary, { minLength: 8, maxLength: 8 }), async (organisation, questions) => {
        const snapshot = toSnapshot(organisation);
        const snapshotEngine = await loadSnapshotEngine({ snapshot });
        expect(snapshotEngine.available).toBe(true);
        for (const question of questions) {
          const input = inputFor(snapshot, question);
          const { subject: _subject, grants: _grants, ...request } = input;
          const decision = snapshotEngine.decide({ ...request, personId: question.personId });
          expect({ allow: decision.allow, grants: sorted(decision.grants) }, JSON.stringify(input)).toEqual(referenceDecision(input));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the reference model', () => {
  it.each([
    ['list_*', 'list_repos', true],
    ['*', '', true],
    ['a*b*c', 'aXcYb', false],
    ['c?d', 'cxd', false],
    ['x[1]*', 'x1y', false],
    ['*e*', 'create_issue', true],
    ['create_issue', 'create_issues', false],
  ])('wildcard %s against %s is %s (only * is special)', (pattern, name, expected) => {
    expect(wildcardMatches(pattern, name)).toBe(expected);
  });

  it('the generated questions reach both allows and denies, so agreement is not vacuous', () => {
    const outcomes = new Set<boolean>();
    fc.assert(
      fc.property(organisationArbitrary, questionArbitrary, (organisation, question) => {
        outcomes.add(referenceDecision(inputFor(toSnapshot(organisation), question)).allow);
      }),
      { numRuns: 500, seed: 42 },
    );
    expect([...outcomes].sort()).toEqual([false, true]);
  });
});
