// From a revoke to every replica refusing the person's older tokens. A control plane in this process
// serves the revoke endpoint and the token exchange (inject, no socket); two resource-server replicas
// each run the revocation epoch feed on a connection pool of their own (one shared connection on
// PGlite) and the access-token verifier. Each round exchanges a fresh token, has both replicas accept
// it (so it is in their caches), revokes the owner and times the call, the commit inside it, each
// replica applying the new epoch, and, once the call has returned, both replicas refusing the token.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { decodeJwt, type JSONWebKeySet } from 'jose';
import pino from 'pino';
import { createEpochFeed, loadConfig, type Database } from '../core/index.ts';
import { createControlPlane } from '../server/control-plane.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_JWT } from '../token-service/exchange.ts';
import { createTokenVerifier, TokenVerificationError } from '../token-service/token-verifier.ts';
import type { TestWorkloadIssuer } from '../test/support/workload-issuer.ts';
import { summarise, type LatencySummary } from './stats.ts';
import type { BenchDatabase } from './token-databases.ts';
import { seedTokenOrganisation } from './token-org.ts';

const silent = pino({ level: 'silent' });
const WARM_UP_ROUNDS = 5;

export interface PropagationFigures {
  rounds: number;
  /** Replicas registered in service_replicas that each revoke waited for. */
  replicasRegistered: number;
  /** The whole revoke call (inject to answer). */
  call: LatencySummary;
  /** From the call's start to the commit of its transaction. */
  toCommit: LatencySummary;
  /** From the commit to the call's answer: this replica's apply and every acknowledgement. */
  commitToAnswer: LatencySummary;
  /** From the commit to each resource-server replica holding the new epoch (both replicas' samples). */
  commitToApplied: LatencySummary;
  /** From the call's answer to both replicas refusing the older token. */
  answerToRefused: LatencySummary;
  /** From the call's start to both replicas refusing the older token. */
  startToRefused: LatencySummary;
}

async function registeredReplicas(database: Database): Promise<number> {
  const result: unknown = await database.db.execute(sql`select count(*)::int as n from service_replicas`);
  const rows = Array.isArray(result) ? result as { n: number }[] : (result as { rows: { n: number }[] }).rows;
  return Number(rows[0]?.n ?? 0);
}

export async function measureRevocationPropagation(options: {
  database: BenchDatabase; issuer: TestWorkloadIssuer; publicUrl: string; rounds: number; people: number;
}): Promise<PropagationFigures> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-bench-revoke-'));
  const config = loadConfig({
    OPENCRANE_HOME: home, LOG_LEVEL: 'silent', PUBLIC_URL: options.publicUrl, OPENCRANE_WORKLOAD_ISSUER: options.issuer.url,
    ...(options.database.url ? { DATABASE_URL: options.database.url } : {}),
  });
  const planeDatabase = await options.database.connect(4);
  const plane = await createControlPlane({ config, logger: silent, database: planeDatabase });
  const replicas: { database: Database; feed: ReturnType<typeof createEpochFeed>; verifier: ReturnType<typeof createTokenVerifier> }[] = [];
  try {
    const adminToken = (await readFile(config.adminTokenFile, 'utf8')).trim();
    const people = await seedTokenOrganisation(plane.app, adminToken, options.people);
    const jwks = (await plane.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<JSONWebKeySet>();
    for (let i = 0; i < 2; i++) {
      const database = await options.database.connect(2);
      const feed = createEpochFeed({
        database, db: database.db, logger: silent, stalenessMs: config.revocationStalenessMs, service: 'mcp-gateway',
      });
      await feed.start();
      const verifier = createTokenVerifier({
        issuer: config.tokens.issuer, audience: config.tokens.audiences.mcpGateway, jwks, currentEpoch: feed.currentEpoch,
      });
      replicas.push({ database, feed, verifier });
    }
    const replicasRegistered = await registeredReplicas(planeDatabase);

    // The revoke route applies the epoch on its own replica right after its transaction commits: that
    // call marks the commit. Measuring only; the wrapped method does exactly what it did.
    let committedAt = Number.NaN;
    const apply = plane.epochs.apply.bind(plane.epochs);
    plane.epochs.apply = (personId, epoch) => {
      committedAt = performance.now();
      apply(personId, epoch);
    };

    const call: number[] = [];
    const toCommit: number[] = [];
    const commitToAnswer: number[] = [];
    const commitToApplied: number[] = [];
    const answerToRefused: number[] = [];
    const startToRefused: number[] = [];
    for (let round = 0; round < WARM_UP_ROUNDS + options.rounds; round++) {
      const person = people[round % people.length]!;
      const exchanged = await plane.app.inject({
        method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: await options.issuer.tokenFor(person.assistantId),
          subject_token_type: TOKEN_TYPE_JWT, audience: 'mcp-gateway',
        }).toString(),
      });
      if (exchanged.statusCode !== 200) throw new Error(`exchange answered ${exchanged.statusCode}: ${exchanged.body}`);
      const token = exchanged.json<{ access_token: string }>().access_token;
      const epochBefore = decodeJwt(token).sv as number;
      for (const replica of replicas) await replica.verifier.verify(token);

      committedAt = Number.NaN;
      const appliedAt = replicas.map(() => Number.NaN);
      const watch = () => replicas.forEach((replica, i) => {
        const epoch = replica.feed.currentEpoch(person.personId);
        if (Number.isNaN(appliedAt[i]) && typeof epoch === 'number' && epoch > epochBefore) appliedAt[i] = performance.now();
      });
      // The replicas live in this process: a watcher looks at their epoch maps between the call's own steps.
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          watch();
          await nextTurn();
        }
      })();
      const started = performance.now();
      const response = await plane.app.inject({
        method: 'POST', url: `/api/v1/people/${person.personId}/revoke`, headers: { authorization: `Bearer ${adminToken}` }, payload: {},
      });
      const answeredAt = performance.now();
      if (response.statusCode !== 200) throw new Error(`revoke answered ${response.statusCode}: ${response.body}`);

      // Honestly from the answer on: ask both replicas at once, and again until both refuse the older token.
      let refusedAt = Number.NaN;
      while (Number.isNaN(refusedAt)) {
        const outcomes = await Promise.all(replicas.map((replica) => replica.verifier.verify(token).then(
          () => 'accepted',
          (err: unknown) => (err instanceof TokenVerificationError ? err.code : 'error'),
        )));
        if (outcomes.every((o) => o === 'ERR_TOKEN_REVOKED')) refusedAt = performance.now();
        else if (performance.now() - answeredAt > 10_000) throw new Error(`replicas still answer ${outcomes.join(', ')} 10 s after the revoke`);
        else await nextTurn();
      }
      watching = false;
      await watcher;
      watch();
      if (round < WARM_UP_ROUNDS) continue;
      call.push(answeredAt - started);
      startToRefused.push(refusedAt - started);
      answerToRefused.push(refusedAt - answeredAt);
      if (!Number.isNaN(committedAt)) {
        toCommit.push(committedAt - started);
        commitToAnswer.push(answeredAt - committedAt);
        for (const at of appliedAt) if (!Number.isNaN(at)) commitToApplied.push(at - committedAt);
      }
    }
    return {
      rounds: options.rounds, replicasRegistered,
      call: summarise(call), toCommit: summarise(toCommit), commitToAnswer: summarise(commitToAnswer),
      commitToApplied: summarise(commitToApplied), answerToRefused: summarise(answerToRefused), startToRefused: summarise(startToRefused),
    };
  } finally {
    for (const replica of replicas) {
      await replica.feed.stop();
      await replica.database.close();
    }
    await plane.close();
    await planeDatabase.close();
    await rm(home, { recursive: true, force: true });
  }
}
