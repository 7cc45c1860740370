// The `oc` executable: the interactive view when run alone in a terminal, the commands otherwise.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { CliIo } from './context.ts';
import { runCli } from './program.ts';

function readAll(): Promise<string | undefined> {
  if (process.stdin.isTTY) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** Asks without echoing what is typed (a secret). */
function promptSecret(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = rl as unknown as { _writeToOutput: (text: string) => void };
    process.stderr.write(question);
    output._writeToOutput = () => undefined;
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}

function openUrl(url: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
    child.on('error', () => resolve());
    child.unref();
    resolve();
  });
}

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: readAll,
  ...(process.stdin.isTTY ? { promptSecret } : {}),
  openUrl,
  env: process.env,
  isTTY: Boolean(process.stdout.isTTY),
  columns: process.stdout.columns,
};

const argv = process.argv.slice(2);
if (argv.length === 0 && process.stdout.isTTY && process.stdin.isTTY) {
  const { runTui } = await import('./tui/run.tsx');
  process.exitCode = await runTui(io);
} else {
  process.exitCode = await runCli(argv, io);
}
