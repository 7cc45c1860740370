// From a grant's commit to decisions that reflect it: on the replica that wrote it, and on another
// replica that learns of it through the database's change notifications.
import pino from 'pino';
import {
  AccessIndex, createAccessService, createDirectorySync, createStore, newId, publishChange, type Database,
} from '../core/index.ts';
import type { PolicyEngine } from '../policies/index.ts';
import type { Org } from './org.ts';
import { summarise } from './stats.ts';

const silent = pino({ level: 'silent' });

export async function measureChangePropagation(options: {
  database: Database; second: Database; org: Org; engine: PolicyEngine; rounds: number;
}) {
  const { org, engine } = options;
  const replica = async (database: Database) => {
    const store = createStore(database);
    const index = new AccessIndex();
    const sync = createDirectorySync({ store, index, logger: silent, resyncIntervalMs: 3_600_000 });
    await sync.start();
    return { store, index, sync, access: createAccessService({ index, engine }) };
  };
  const writer = await replica(options.database);
  const other = await replica(options.second);
  const started = performance.now();
  await other.sync.reload();
  const fullReloadMs = performance.now() - started;

  const writerMs: number[] = [];
  const otherMs: number[] = [];
  try {
    const skills = org.resources.filter((r) => r.kind === 'skill');
    const active = org.people.filter((p) => p.status === 'active');
    for (let round = 0, attempt = 0; round < options.rounds; round++) {
      // A person and skill with no grant between them yet, so the new grant alone decides.
      let person = active[0]!;
      let skill = skills[0]!;
      do {
        attempt++;
        person = active[(attempt * 7919) % active.length]!;
        skill = skills[(attempt * 104_729) % skills.length]!;
      } while (writer.index.candidates(writer.index.subject(person.id), 'skill', skill.id).length > 0);
      const question = { personId: person.id, action: 'skills.read' as const, resource: { kind: 'skill' as const, id: skill.id } };
      const grantId = newId('grant');
      await writer.store.transaction(async (tx) => {
        await writer.store.grants.insert(tx, {
          id: grantId, subject: { kind: 'person', id: person.id }, resource: { kind: 'skill', id: skill.id }, effect: 'allow', grantedBy: 'bench',
        });
        await publishChange(tx, { entity: 'grant', id: grantId });
      });
      const committed = performance.now();
      await writer.sync.apply([{ entity: 'grant', id: grantId }]);
      if (!writer.access.decide(question).grants.includes(grantId)) throw new Error('the writer did not see its own change');
      writerMs.push(performance.now() - committed);
      const deadline = committed + 5_000;
      while (!other.access.decide(question).grants.includes(grantId)) {
        if (performance.now() > deadline) throw new Error('another replica did not see the change within 5 s');
        await new Promise((r) => setImmediate(r));
      }
      otherMs.push(performance.now() - committed);
    }
  } finally {
    await writer.sync.stop();
    await other.sync.stop();
  }
  return { rounds: options.rounds, writer: summarise(writerMs), other: summarise(otherMs), fullReloadMs };
}
