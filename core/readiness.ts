// What every service's /readyz answers: the database reachable, plus the service's own conditions
// (policy loaded, directory loaded, revocation feed fresh). Not ready is a 503, so an orchestrator
// stops sending traffic to a replica that would only refuse it.
import type { Db } from './db/database.ts';

export interface Readiness {
  status: 200 | 503;
  body: { status: 'ready' | 'not ready'; checks: Record<string, string> };
}

/** `conditions`: each name with whether it holds and what to report when it does not. */
export async function readiness(db: Pick<Db, 'execute'>, conditions: Record<string, [holds: boolean, otherwise: string]>): Promise<Readiness> {
  const checks: Record<string, string> = {};
  try {
    await db.execute('select 1');
    checks.database = 'ok';
  } catch {
    checks.database = 'unreachable';
  }
  for (const [name, [holds, otherwise]] of Object.entries(conditions)) checks[name] = holds ? 'ok' : otherwise;
  const ready = Object.values(checks).every((v) => v === 'ok');
  return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', checks } };
}
