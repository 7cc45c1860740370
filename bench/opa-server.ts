// The comparison path: the same Rego and the same data document served by the pinned `opa run --server`,
// asked over HTTP on loopback with keep-alive connections.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { buildSnapshotData, type DirectorySnapshot, type SnapshotDecisionInput } from '../policies/index.ts';
import { ensureOpa, REPO_ROOT } from '../scripts/tools.ts';
import { summarise } from './stats.ts';
import { freePort } from '../test/support/ports.ts';

const SEQUENTIAL = 5_000;
const THROUGHPUT_MS = 3_000;
const CONCURRENCY = 8;

async function policyFiles(): Promise<string[]> {
  const custom = path.join(REPO_ROOT, 'policies/custom');
  const customFiles = (await readdir(custom, { withFileTypes: true }))
    .filter((e) => e.isFile() && e.name.endsWith('.rego') && !e.name.endsWith('_test.rego'))
    .map((e) => path.join(custom, e.name));
  return [path.join(REPO_ROOT, 'policies/base/access.rego'), path.join(REPO_ROOT, 'policies/snapshot/snapshot.rego'), ...customFiles];
}

export async function startOpaServer(snapshot: DirectorySnapshot) {
  const opa = ensureOpa();
  const version = /^Version:\s*(\S+)/m.exec(execFileSync(opa, ['version'], { encoding: 'utf8' }))?.[1] ?? '?';
  const dir = await mkdtemp(path.join(os.tmpdir(), 'opencrane-bench-opa-'));
  const dataFile = path.join(dir, 'data.json');
  await writeFile(dataFile, JSON.stringify(buildSnapshotData(snapshot)));
  const port = await freePort();
  const child = spawn(opa, ['run', '--server', '--addr', `127.0.0.1:${port}`, '--log-level', 'error', ...(await policyFiles()), dataFile], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  const request = (method: string, urlPath: string, body?: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });

  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await request('GET', '/health')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('opa server did not become healthy');
    await new Promise((r) => setTimeout(r, 100));
  }

  const ask = async (input: SnapshotDecisionInput): Promise<boolean> => {
    const res = await request('POST', '/v1/data/opencrane/snapshot/decision', JSON.stringify({ input }));
    if (res.status !== 200) throw new Error(`opa answered ${res.status}`);
    return (JSON.parse(res.body) as { result?: { allow?: boolean } }).result?.allow === true;
  };

  return {
    version,
    concurrency: CONCURRENCY,
    async measure(inputs: SnapshotDecisionInput[]) {
      for (let i = 0; i < 500; i++) await ask(inputs[i % inputs.length]!);
      const samples: number[] = [];
      let allowed = 0;
      for (let i = 0; i < SEQUENTIAL; i++) {
        const start = process.hrtime.bigint();
        if (await ask(inputs[i % inputs.length]!)) allowed++;
        samples.push(Number(process.hrtime.bigint() - start) / 1000);
      }
      let count = 0;
      const until = performance.now() + THROUGHPUT_MS;
      await Promise.all(Array.from({ length: CONCURRENCY }, async (_, worker) => {
        for (let i = worker; performance.now() < until; i += CONCURRENCY) {
          await ask(inputs[i % inputs.length]!);
          count++;
        }
      }));
      const { p50, p99, p999 } = summarise(samples);
      return { p50, p99, p999, perSecond: count / (THROUGHPUT_MS / 1000), allowed: allowed / SEQUENTIAL };
    },
    async stop() {
      agent.destroy();
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
