// PGlite is one process's database: a second process opening the same folder would corrupt it. A lock
// file holding the owner's pid refuses a second start and is taken over when its owner is gone.
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireDataLock(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true });
  const file = `${dataDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return async () => { await unlink(file).catch(() => undefined); };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new Error(`another OpenCrane process (pid ${owner}) is using ${dataDir}; stop it first`, { cause: err });
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}
