// Helpers for REST API tests: an inject client that checks every response for leaked internals, a
// problem+json assertion, and a count of every table's rows to prove that a refused request wrote nothing.
import { expect } from 'vitest';
import { sql } from 'drizzle-orm';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import * as tables from '../../core/db/schema.ts';
import type { TestControlPlane } from './control-plane.ts';

export interface ApiCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  /** Overrides the bearer token; `null` sends no authorization header. */
  token?: string | null;
  headers?: Record<string, string>;
  /** A raw payload sent as is (for malformed JSON, wrong content types, huge bodies). */
  payload?: string | Buffer;
}

export type ApiClient = (call: ApiCall) => Promise<LightMyRequestResponse>;

const STACK_TRACE = /\n\s+at\s|\bat\s+\S+\s+\(.*:\d+:\d+\)|node_modules|\.ts:\d+/;
const SQL_TEXT = /\bselect\b[\s\S]*\bfrom\b|\binsert\s+into\b|\bupdate\s+"?\w+"?\s+set\b|\bdelete\s+from\b|\bviolates\b|\bconstraint\s+"/i;

/** Fails the test if a response body shows a stack trace, SQL text or the admin token. */
export function expectNoLeaks(response: LightMyRequestResponse, adminToken: string): void {
  const text = response.body;
  expect(text, 'response body carries a stack trace').not.toMatch(STACK_TRACE);
  expect(text, 'response body carries SQL text').not.toMatch(SQL_TEXT);
  expect(text.includes(adminToken), 'response body carries the admin token').toBe(false);
}

export function apiClient(control: TestControlPlane, defaultToken: string = control.adminToken): ApiClient {
  return async (call) => {
    const headers: Record<string, string> = { ...(call.headers ?? {}) };
    const token = call.token === undefined ? defaultToken : call.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const options: InjectOptions = { method: call.method, url: call.url, headers };
    if (call.payload !== undefined) options.payload = call.payload;
    else if (call.body !== undefined) options.payload = call.body as InjectOptions['payload'];
    const response = await control.plane.app.inject(options);
    expectNoLeaks(response, control.adminToken);
    expect(response.statusCode, `${call.method} ${call.url} must never be a 5xx: ${response.body}`).toBeLessThan(500);
    return response;
  };
}

/** Asserts an RFC 9457 problem response with this status (and code, when given). */
export function expectProblem(response: LightMyRequestResponse, status: number, code?: string): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = response.json<Record<string, unknown>>();
  expect(problem).toMatchObject({ status, type: expect.any(String) as unknown, title: expect.any(String) as unknown, code: expect.any(String) as unknown, detail: expect.any(String) as unknown });
  if (code) expect(problem.code).toBe(code);
  return problem;
}

const COUNTED_TABLES = {
  departments: tables.departments, teams: tables.teams, people: tables.people, teamMembers: tables.teamMembers,
  tools: tables.tools, skills: tables.skills, knowledgeCollections: tables.knowledgeCollections,
  assistants: tables.assistants, grants: tables.grants, apiTokens: tables.apiTokens, auditEvents: tables.auditEvents,
};

/** Row counts of every table, to compare before and after a request that must change nothing. */
export async function rowCounts(control: TestControlPlane): Promise<Record<string, number>> {
  const db = control.plane.store.db;
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(COUNTED_TABLES)) {
    const rows = await db.select({ n: sql<number>`count(*)::int` }).from(table);
    counts[name] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/** A name unique within a test run, for records that must not collide with each other. */
let counter = 0;
export const unique = (stem: string) => `${stem}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
