// The OpenAPI document is generated from the route schemas; these tests hold it to the API's rules,
// and fail when a route appears that no API test covers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../test/support/databases.ts';
import { startTestControlPlane, type TestControlPlane } from '../test/support/control-plane.ts';
import { apiClient } from '../test/support/api.ts';

/**
 * Every operation the API tests exercise, by the file that covers it. A new route must be added here
 * together with its tests, or the coverage test below fails.
 */
const COVERED_OPERATIONS: Record<string, string[]> = {
  'api.oauth-clients.test.ts': ['createOAuthClient', 'listOAuthClients', 'getOAuthClient', 'revokeOAuthClient'],
  'api.tool-credentials.test.ts': [
    'setToolCredential', 'listToolCredentialVersions', 'deleteToolCredential',
    'setPersonToolCredential', 'listPersonToolCredentialVersions', 'deletePersonToolCredential',
    'setMyToolCredential', 'listMyToolCredentialVersions', 'deleteMyToolCredential',
  ],
  'api.directory.test.ts': [
    ...['Department', 'Team', 'Person', 'Tool', 'Skill', 'KnowledgeCollection', 'Assistant'].flatMap((kind) =>
      [`create${kind}`, `get${kind}`, `update${kind}`, `delete${kind}`]),
    'listDepartments', 'listTeams', 'listPeople', 'listTools', 'listSkills', 'listKnowledgeCollections', 'listAssistants',
    'listTeamMembers', 'listPersonTeams', 'getTeamMember', 'addTeamMember', 'removeTeamMember',
    'healthz', 'readyz',
  ],
  'api.grants.test.ts': ['createGrant', 'listGrants', 'getGrant', 'updateGrant', 'deleteGrant', 'decide', 'explainDecision', 'whoCanAccess'],
  'api.audit.test.ts': ['listAuditEvents'],
  'api.auth.test.ts': ['createApiToken', 'listApiTokens', 'getApiToken', 'revokeApiToken'],
  'routes/me.test.ts': ['getJwks', 'getMe', 'createPairingLink'],
  'api.revocation.test.ts': ['revokePerson', 'revokeAssistant'],
};

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: unknown[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: { $ref?: string } }> }>;
}
interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
  security?: unknown[];
}

const METHODS = new Set(['get', 'post', 'put', 'patch', 'delete']);

function operations(doc: OpenApiDocument): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([method]) => METHODS.has(method)).map(([method, op]) => ({ method, path, op })));
}

/** Every `$ref` anywhere in the document. */
function refs(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) refs(v, found);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === '$ref' && typeof v === 'string') found.push(v);
      else refs(v, found);
    }
  }
  return found;
}

// The document does not depend on the database driver, so one control plane on PGlite is enough.
describe.each(testDatabases.slice(0, 1))('OpenAPI document on $name', (target) => {
  let control: TestControlPlane;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    control = await startTestControlPlane(target);
    const response = await apiClient(control)({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    doc = response.json<OpenApiDocument>();
  });
  afterAll(async () => {
    await control?.close();
  });

  it('is an OpenAPI 3.1.0 document with a title, version and bearer security scheme', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toBeTruthy();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
  });

  it('every operation is covered by an API test, and every covered operation still exists', () => {
    const documented = operations(doc).map(({ op }) => op.operationId).sort();
    const covered = Object.values(COVERED_OPERATIONS).flat().sort();
    expect(new Set(covered).size, 'an operation is listed twice').toBe(covered.length);
    expect(documented).toEqual(covered);
  });

  it('every operation has a unique operationId and at least one tag', () => {
    const ids = operations(doc).map(({ op }) => op.operationId);
    for (const { method, path, op } of operations(doc)) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.tags?.length, `${method} ${path} has no tags`).toBeGreaterThan(0);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('every operation that takes a body declares a required JSON request schema', () => {
    for (const { method, path, op } of operations(doc)) {
      if (method === 'get' || method === 'delete') {
        expect(op.requestBody, `${method} ${path} documents a body`).toBeUndefined();
        continue;
      }
      if (method === 'put') continue; // PUT membership carries everything in its path
      expect(op.requestBody?.required, `${method} ${path}`).toBe(true);
      expect(op.requestBody?.content?.['application/json']?.schema, `${method} ${path}`).toBeDefined();
    }
  });

  it('every operation documents a success response with a schema (204s have no body)', () => {
    for (const { method, path, op } of operations(doc)) {
      const successes = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      expect(successes.length, `${method} ${path} has no success response`).toBeGreaterThan(0);
      for (const [status, response] of successes) {
        if (status === '204') continue;
        expect(response.content?.['application/json']?.schema, `${method} ${path} ${status}`).toBeDefined();
      }
    }
  });

  it('every error response references the Problem schema', () => {
    for (const { method, path, op } of operations(doc)) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!/^[45]\d\d$/.test(status)) continue;
        if (path === '/readyz' && status === '503') continue; // readiness reports its checks, not a problem
        const schemas = Object.values(response.content ?? {}).map((c) => c.schema?.$ref);
        expect(schemas.length, `${method} ${path} ${status} has no content`).toBeGreaterThan(0);
        for (const ref of schemas) expect(ref, `${method} ${path} ${status}`).toBe('#/components/schemas/Problem');
      }
    }
  });

  it('every /api/v1 operation documents 400, 401 and 403, and every by-id operation a 404', () => {
    for (const { method, path, op } of operations(doc)) {
      if (!path.startsWith('/api/v1/')) continue;
      const statuses = Object.keys(op.responses ?? {});
      for (const status of ['400', '401', '403']) expect(statuses, `${method} ${path}`).toContain(status);
      if (/\{[a-zA-Z]+\}/.test(path)) expect(statuses, `${method} ${path}`).toContain('404');
    }
  });

  it('error responses are documented with the media type the server sends (application/problem+json)', () => {
    for (const { method, path, op } of operations(doc)) {
      if (!path.startsWith('/api/v1/')) continue;
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        if (!/^[45]\d\d$/.test(status)) continue;
        expect(Object.keys(response.content ?? {}), `${method} ${path} ${status}`).toEqual(['application/problem+json']);
      }
    }
  });

  it('the Problem schema has the RFC 9457 fields and a stable code', () => {
    const problem = doc.components.schemas.Problem as { type: string; required: string[]; properties: Record<string, unknown> };
    expect(problem.type).toBe('object');
    for (const field of ['type', 'title', 'status', 'code']) expect(problem.required).toContain(field);
    for (const field of ['type', 'title', 'status', 'detail', 'instance', 'code', 'errors']) expect(problem.properties).toHaveProperty(field);
  });

  it('every $ref resolves to a component schema', () => {
    for (const ref of refs(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.replace('#/components/schemas/', '')], ref).toBeDefined();
    }
  });

  it('every request body and query object rejects unknown properties, and every string in them is bounded', () => {
    const unbounded: string[] = [];
    const open: string[] = [];
    let strings = 0;
    const visit = (schema: unknown, where: string) => {
      if (!schema || typeof schema !== 'object') return;
      const s = schema as Record<string, unknown>;
      if (s.type === 'object' && s.properties && s.additionalProperties !== false) open.push(where);
      if (s.type === 'string') strings++;
      if (s.type === 'string' && s.maxLength === undefined && s.enum === undefined && s.const === undefined && s.format !== 'date-time') unbounded.push(where);
      for (const [key, value] of Object.entries(s)) {
        if (Array.isArray(value)) value.forEach((v, i) => visit(v, `${where}/${key}/${i}`));
        else if (value && typeof value === 'object') visit(value, `${where}/${key}`);
      }
    };
    for (const { method, path, op } of operations(doc)) {
      visit(op.requestBody?.content?.['application/json']?.schema, `${method} ${path} body`);
      visit((op as { parameters?: unknown }).parameters, `${method} ${path} parameters`);
    }
    expect(strings, 'the walk found the request schemas').toBeGreaterThan(50);
    expect(open).toEqual([]);
    expect(unbounded).toEqual([]);
  });

  it('health routes and the public JWKS need no token; every other operation uses the bearer scheme', () => {
    for (const { method, path, op } of operations(doc)) {
      if (path === '/healthz' || path === '/readyz' || path === '/.well-known/jwks.json') expect(op.security, `${method} ${path}`).toEqual([]);
      else expect(op.security, `${method} ${path} opts out of authentication`).toBeUndefined();
    }
  });
});
