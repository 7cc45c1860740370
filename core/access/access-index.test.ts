import { describe, expect, it } from 'vitest';
import type { PolicyGrant } from '../../policies/types.ts';
import { AccessIndex } from './access-index.ts';

const grant = (id: string, subject: PolicyGrant['subject'], resource: PolicyGrant['resource'], effect: 'allow' | 'deny' = 'allow'): PolicyGrant =>
  ({ id, subject, resource, effect, expiresAt: null });

function sample(): AccessIndex {
  const index = new AccessIndex();
  index.load({
    people: [
      { id: 'p1', status: 'active', departmentId: 'd1' },
      { id: 'p2', status: 'suspended', departmentId: null },
    ],
    memberships: [{ teamId: 't2', personId: 'p1' }, { teamId: 't1', personId: 'p1' }],
    grants: [
      grant('g-person', { kind: 'person', id: 'p1' }, { kind: 'tool', id: 'r1', toolPattern: 'list_*' }),
      grant('g-team', { kind: 'team', id: 't1' }, { kind: 'tool', id: 'r1' }),
      grant('g-dept', { kind: 'department', id: 'd1' }, { kind: 'tool', id: 'r1' }, 'deny'),
      grant('g-other-resource', { kind: 'team', id: 't1' }, { kind: 'skill', id: 'r2' }),
      grant('g-other-team', { kind: 'team', id: 't9' }, { kind: 'tool', id: 'r1' }),
    ],
  });
  return index;
}

const ids = (grants: PolicyGrant[]) => grants.map((g) => g.id).sort();

describe('AccessIndex', () => {
  it('answers a known person with their status, department and sorted teams, and an unknown one as unknown', () => {
    const index = sample();
    expect(index.subject('p1')).toEqual({ personId: 'p1', status: 'active', teams: ['t1', 't2'], departmentId: 'd1' });
    expect(index.subject('nobody')).toEqual({ personId: 'nobody', status: 'unknown', teams: [], departmentId: null });
  });

  it('gathers exactly the grants of the person, their teams and their department on the asked resource', () => {
    const index = sample();
    expect(ids(index.candidates(index.subject('p1'), 'tool', 'r1'))).toEqual(['g-dept', 'g-person', 'g-team']);
    expect(ids(index.candidates(index.subject('p1'), 'skill', 'r2'))).toEqual(['g-other-resource']);
    expect(index.candidates(index.subject('p1'), 'knowledge', 'r1')).toEqual([]);
  });

  it('replaces a grant that is upserted again instead of listing it twice', () => {
    const index = sample();
    index.upsertGrant({
      id: 'g-team', subject: { kind: 'team', id: 't1' }, resource: { kind: 'tool', id: 'r1', toolPattern: 'get_*' }, effect: 'deny',
      expiresAt: null, reason: null, grantedBy: 'x', createdAt: new Date(), updatedAt: new Date(),
    });
    const found = index.candidates(index.subject('p1'), 'tool', 'r1').filter((g) => g.id === 'g-team');
    expect(found).toEqual([{ id: 'g-team', subject: { kind: 'team', id: 't1' }, resource: { kind: 'tool', id: 'r1', toolPattern: 'get_*' }, effect: 'deny', expiresAt: null }]);
    index.removeGrant('g-team');
    expect(ids(index.candidates(index.subject('p1'), 'tool', 'r1'))).toEqual(['g-dept', 'g-person']);
  });

  it('a deleted team takes its grants and its memberships with it', () => {
    const index = sample();
    index.removeSubject('team', 't1');
    expect(index.subject('p1').teams).toEqual(['t2']);
    expect(ids(index.candidates(index.subject('p1'), 'tool', 'r1'))).toEqual(['g-dept', 'g-person']);
    expect(index.size.grants).toBe(3);
  });

  it('a deleted department clears people\'s department and its grants', () => {
    const index = sample();
    index.removeSubject('department', 'd1');
    expect(index.subject('p1').departmentId).toBeNull();
    expect(ids(index.candidates(index.subject('p1'), 'tool', 'r1'))).toEqual(['g-person', 'g-team']);
  });

  it('a deleted person is unknown and their grants are gone', () => {
    const index = sample();
    index.removeSubject('person', 'p1');
    expect(index.subject('p1').status).toBe('unknown');
    expect(index.size.grants).toBe(4);
  });

  it('a deleted resource takes every grant on it', () => {
    const index = sample();
    index.removeResource('tool', 'r1');
    expect(index.size.grants).toBe(1);
    expect(index.candidates(index.subject('p1'), 'tool', 'r1')).toEqual([]);
  });

  it('a person update replaces status, department and teams', () => {
    const index = sample();
    index.upsertPerson({ id: 'p2', status: 'active', departmentId: 'd1' }, ['t9']);
    expect(index.subject('p2')).toEqual({ personId: 'p2', status: 'active', teams: ['t9'], departmentId: 'd1' });
    expect(ids(index.candidates(index.subject('p2'), 'tool', 'r1'))).toEqual(['g-dept', 'g-other-team']);
  });
});
