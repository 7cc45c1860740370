import { describe, expect, it } from 'vitest';
import { containsDesired } from './drift.ts';

describe('drift check', () => {
  const desired = {
    metadata: { name: 'a', labels: { 'opencrane.io/instance': 'one' } },
    spec: { replicas: 1, ports: [{ name: 'http', port: 80 }] },
  };

  it('an object with the server\'s defaults added still contains the desired fields', () => {
    const live = {
      metadata: { name: 'a', labels: { 'opencrane.io/instance': 'one', extra: 'x' }, resourceVersion: '7', uid: 'u' },
      spec: { replicas: 1, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80 }], revisionHistoryLimit: 10 },
      status: { readyReplicas: 0 },
    };
    expect(containsDesired(desired, live)).toBe(true);
  });

  it('a changed value is drift', () => {
    expect(containsDesired(desired, { ...desired, spec: { ...desired.spec, replicas: 3 } })).toBe(false);
  });

  it('a removed label is drift', () => {
    expect(containsDesired(desired, { ...desired, metadata: { name: 'a', labels: {} } })).toBe(false);
  });

  it('a list with an item added or removed is drift', () => {
    expect(containsDesired(desired, { ...desired, spec: { replicas: 1, ports: [] } })).toBe(false);
    expect(containsDesired(desired, { ...desired, spec: { replicas: 1, ports: [{ name: 'http', port: 80 }, { name: 'x', port: 81 }] } })).toBe(false);
  });

  it('a missing object is drift', () => {
    expect(containsDesired(desired, undefined)).toBe(false);
    expect(containsDesired({ a: { b: 1 } }, { a: 'string' })).toBe(false);
  });

  it('an empty map or list matches the field the API server left out', () => {
    expect(containsDesired({ spec: { ingress: [], selector: { matchLabels: {} } } }, { spec: { selector: {} } })).toBe(true);
    expect(containsDesired({ spec: { ingress: [] } }, { spec: { ingress: [{ from: [] }] } })).toBe(false);
  });

  it('undefined desired fields are not required', () => {
    expect(containsDesired({ a: 1, b: undefined }, { a: 1 })).toBe(true);
  });
});
