// A small organisation for the token benchmark, created through the control plane's REST API (inject,
// no socket) so it goes through the same validation and change feed as real clients: one department,
// one team in it, a tool the team holds an allow grant on, and people in the team, each with the
// assistant the API creates for them.
import type { FastifyInstance } from 'fastify';

export interface SeededAssistant {
  personId: string;
  assistantId: string;
}

export async function seedTokenOrganisation(app: FastifyInstance, adminToken: string, people: number): Promise<SeededAssistant[]> {
  const call = async <T>(method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown): Promise<T> => {
    const response = await app.inject({
      method, url, headers: { authorization: `Bearer ${adminToken}` }, ...(body === undefined ? {} : { payload: body as object }),
    });
    if (response.statusCode >= 300) throw new Error(`seeding: ${method} ${url} answered ${response.statusCode}: ${response.body.slice(0, 300)}`);
    return (response.body ? response.json() : undefined) as T;
  };
  const department = await call<{ id: string }>('POST', '/api/v1/departments', { name: 'Bench department' });
  const team = await call<{ id: string }>('POST', '/api/v1/teams', { name: 'Bench team', departmentId: department.id });
  const tool = await call<{ id: string }>('POST', '/api/v1/tools', { name: 'bench-tool', url: 'https://mcp.bench.example/mcp' });
  await call('POST', '/api/v1/grants', { subject: { kind: 'team', id: team.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
  const seeded: SeededAssistant[] = [];
  for (let i = 0; i < people; i++) {
    const person = await call<{ id: string }>('POST', '/api/v1/people', {
      email: `bench-${i}@bench.example`, displayName: `Bench person ${i}`, departmentId: department.id,
    });
    await call('PUT', `/api/v1/teams/${team.id}/members/${person.id}`);
    const assistants = await call<{ items: { id: string }[] }>('GET', `/api/v1/assistants?personId=${person.id}`);
    const assistant = assistants.items[0];
    if (!assistant) throw new Error(`seeding: person ${person.id} has no assistant`);
    seeded.push({ personId: person.id, assistantId: assistant.id });
  }
  return seeded;
}
