import { describe, expect, it } from 'vitest';
import { assistantIdOfServiceAccount, parseServiceAccountUser, serviceAccountNameOf } from './assistant-identity.ts';
import { newId } from './ids.ts';

describe('assistant ServiceAccount names', () => {
  it('an assistant id and its ServiceAccount name map to each other', () => {
    for (let i = 0; i < 50; i++) {
      const id = newId('assistant');
      const name = serviceAccountNameOf(id);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(assistantIdOfServiceAccount(name)).toBe(id);
    }
  });

  it('a ServiceAccount that is not an assistant maps to nothing', () => {
    for (const name of ['default', 'opencrane-operator', 'ast-', 'ast-01jxyz', 'ast-01JABCDEFGHJKMNPQRSTVWXYZ0', 'xast-01jabcdefghjkmnpqrstvwxyz0']) {
      expect(assistantIdOfServiceAccount(name)).toBeUndefined();
    }
  });

  it('only a well-formed ServiceAccount user name is parsed', () => {
    expect(parseServiceAccountUser('system:serviceaccount:opencrane:ast-01jabc')).toEqual({ namespace: 'opencrane', name: 'ast-01jabc' });
    for (const user of ['system:serviceaccount:opencrane', 'system:node:x', 'system:serviceaccount:Open:x', 'system:serviceaccount:a:b:c', 'alice']) {
      expect(parseServiceAccountUser(user)).toBeUndefined();
    }
  });
});
