// Runs `oc` in-process against a real control plane, with its output captured and its own config
// directory, as a person at a terminal or a script would.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CliIo } from '../../cli/context.ts';
import { runCli } from '../../cli/program.ts';

export interface OcResult { code: number; stdout: string; stderr: string }
export type Oc = (args: string[], options?: { stdin?: string; env?: NodeJS.ProcessEnv; prompt?: string; openUrl?: (url: string) => Promise<void> }) => Promise<OcResult>;

/** An `oc` with a fresh config directory; `env` is merged into every call's environment. */
export async function ocFor(env: NodeJS.ProcessEnv = {}): Promise<{ oc: Oc; configDir: string }> {
  const configDir = await mkdtemp(path.join(os.tmpdir(), 'opencrane-oc-'));
  const oc: Oc = async (args, options = {}) => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (text) => { stdout += text; },
      stderr: (text) => { stderr += text; },
      readStdin: () => Promise.resolve(options.stdin),
      ...(options.prompt !== undefined ? { promptSecret: () => Promise.resolve(options.prompt!) } : {}),
      ...(options.openUrl ? { openUrl: options.openUrl } : {}),
      env: { OPENCRANE_CONFIG_DIR: configDir, ...env, ...options.env },
      isTTY: false,
      columns: 200,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    };
    const code = await runCli(args, io);
    return { code, stdout, stderr };
  };
  return { oc, configDir };
}
