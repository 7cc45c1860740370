// The rules of each auth kind, as a table and against a plain reference model over generated settings.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  RESERVED_HEADER_NAMES, TOOL_AUTH_FIELDS, TOOL_AUTH_KINDS, secretSourceOf, toolAuthProblems,
  type ToolAuthConfig, type ToolAuthField, type ToolAuthKind,
} from './tool-auth.ts';

const TOKEN_URL = 'https://auth.example.com/token';

describe('tool auth rules', () => {
  it('each kind is accepted with exactly the fields it needs', () => {
    const valid: [ToolAuthKind, ToolAuthConfig][] = [
      ['none', {}], ['bearer', {}], ['per_person', {}], ['header', { headerName: 'X-Api-Key' }],
      ['client_credentials', { tokenUrl: TOKEN_URL, clientId: 'gw' }],
      ['client_credentials', { tokenUrl: TOKEN_URL, clientId: 'gw', scope: 'a b', audience: 'api', resource: 'https://api.example.com' }],
      ['token_exchange', { tokenUrl: TOKEN_URL, clientId: 'gw', audience: 'api' }],
      ['token_exchange', { tokenUrl: TOKEN_URL, clientId: 'gw', resource: 'https://api.example.com', scope: 'read' }],
    ];
    for (const [kind, config] of valid) expect(toolAuthProblems(kind, config), `${kind} ${JSON.stringify(config)}`).toEqual([]);
  });

  it('a missing required field, a field of another kind, and an exchange with neither audience nor resource are named', () => {
    expect(toolAuthProblems('header', {})).toEqual([{ field: 'headerName', message: 'is required by the header kind' }]);
    expect(toolAuthProblems('bearer', { tokenUrl: TOKEN_URL })).toEqual([{ field: 'tokenUrl', message: 'is not used by the bearer kind; leave it out' }]);
    expect(toolAuthProblems('token_exchange', { tokenUrl: TOKEN_URL, clientId: 'gw' }).map((p) => p.field)).toEqual(['audience']);
    expect(toolAuthProblems('client_credentials', {}).map((p) => p.field)).toEqual(['tokenUrl', 'clientId']);
  });

  it('reserved header names are refused whatever their case, and so are names that are not HTTP tokens (header injection)', () => {
    for (const name of [...RESERVED_HEADER_NAMES].flatMap((n) => [n, n.toUpperCase()])) {
      expect(toolAuthProblems('header', { headerName: name }).map((p) => p.field), name).toEqual(['headerName']);
    }
    for (const name of ['X-Key\r\nX-Admin: 1', 'X Key', 'X-Key:', '', 'é', 'x'.repeat(65)]) {
      expect(toolAuthProblems('header', { headerName: name }).map((p) => p.field), JSON.stringify(name)).toEqual(['headerName']);
    }
    expect(toolAuthProblems('header', { headerName: 'Cookie' })).toEqual([]);
  });

  it('an unknown kind is a problem, not a crash', () => {
    expect(toolAuthProblems('basic' as ToolAuthKind, {})).toEqual([{ field: 'kind', message: expect.stringContaining('must be one of') as unknown }]);
  });

  it('only none takes no secret, and only per_person takes each person\'s', () => {
    expect(TOOL_AUTH_KINDS.map((k) => [k, secretSourceOf(k)])).toEqual([
      ['none', 'none'], ['bearer', 'tool'], ['header', 'tool'], ['client_credentials', 'tool'], ['per_person', 'person'], ['token_exchange', 'tool'],
    ]);
  });

  it('agrees with a plain reference model on every kind and every combination of fields', () => {
    const uses: Record<ToolAuthKind, { required: ToolAuthField[]; allowed: ToolAuthField[]; oneOf?: ToolAuthField[] }> = {
      none: { required: [], allowed: [] },
      bearer: { required: [], allowed: [] },
      per_person: { required: [], allowed: [] },
      header: { required: ['headerName'], allowed: ['headerName'] },
      client_credentials: { required: ['tokenUrl', 'clientId'], allowed: ['tokenUrl', 'clientId', 'scope', 'audience', 'resource'] },
      token_exchange: {
        required: ['tokenUrl', 'clientId'], allowed: ['tokenUrl', 'clientId', 'scope', 'audience', 'resource'], oneOf: ['audience', 'resource'],
      },
    };
    fc.assert(fc.property(
      fc.constantFrom(...TOOL_AUTH_KINDS), fc.subarray([...TOOL_AUTH_FIELDS]),
      (kind, fields) => {
        const config: ToolAuthConfig = Object.fromEntries(fields.map((f) => [f, f === 'headerName' ? 'X-Api-Key' : 'v']));
        const rule = uses[kind];
        const fits = rule.required.every((f) => fields.includes(f)) && fields.every((f) => rule.allowed.includes(f))
          && (!rule.oneOf || rule.oneOf.some((f) => fields.includes(f)));
        expect(toolAuthProblems(kind, config).length === 0).toBe(fits);
      },
    ), { numRuns: 500 });
  });
});
