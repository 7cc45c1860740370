// Records created through the REST API itself, so fixtures go through the same validation, audit and
// change feed as real clients. Each helper fails the test when the API refuses.
import { expect } from 'vitest';
import { apiClient, unique, type ApiClient } from './api.ts';
import { startTestControlPlane, type TestControlPlane } from './control-plane.ts';
import type { TestDatabase } from './databases.ts';

type Row = Record<string, unknown> & { id: string };

async function created(api: ApiClient, url: string, body: unknown): Promise<Row> {
  const response = await api({ method: 'POST', url, body });
  expect(response.statusCode, `POST ${url}: ${response.body}`).toBe(201);
  return response.json<Row>();
}

export function apiFixtures(api: ApiClient) {
  return {
    department: (body: Record<string, unknown> = {}) => created(api, '/api/v1/departments', { name: unique('Dept'), ...body }),
    team: (body: Record<string, unknown> = {}) => created(api, '/api/v1/teams', { name: unique('Team'), ...body }),
    person: (body: Record<string, unknown> = {}) => {
      const name = unique('person');
      return created(api, '/api/v1/people', { email: `${name}@example.com`, displayName: `Person ${name}`, ...body });
    },
    tool: (body: Record<string, unknown> = {}) =>
      created(api, '/api/v1/tools', { name: unique('tool'), url: 'https://mcp.example.com/mcp', ...body }),
    skill: (body: Record<string, unknown> = {}) => created(api, '/api/v1/skills', { name: unique('skill'), ...body }),
    knowledge: (body: Record<string, unknown> = {}) => created(api, '/api/v1/knowledge', { name: unique('kb'), ...body }),
    grant: (body: Record<string, unknown>) => created(api, '/api/v1/grants', body),
    async join(teamId: string, personId: string): Promise<void> {
      const response = await api({ method: 'PUT', url: `/api/v1/teams/${teamId}/members/${personId}` });
      expect(response.statusCode, response.body).toBe(204);
    },
    async apiToken(role: 'admin' | 'security' | 'auditor'): Promise<Row & { token: string }> {
      return await created(api, '/api/v1/api-tokens', { name: unique(`${role} token`), role }) as Row & { token: string };
    },
  };
}

export type ApiFixtures = ReturnType<typeof apiFixtures>;

/** A control plane on one of the test databases, with the API client and fixtures that talk to it. */
export async function startApiTestPlane(target: TestDatabase): Promise<{ control: TestControlPlane; api: ApiClient; f: ApiFixtures }> {
  const control = await startTestControlPlane(target);
  const api = apiClient(control);
  return { control, api, f: apiFixtures(api) };
}
