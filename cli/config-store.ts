// Where `oc` keeps its contexts: one file in the user's config directory ($OPENCRANE_CONFIG_DIR, else
// $XDG_CONFIG_HOME/opencrane, else ~/.config/opencrane), written with mode 0600 in a 0700 folder,
// replaced atomically. A context is one control plane and the credentials for it.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export interface CliContext {
  url: string;
  /** An API token (`oct_…`) or a CLI access token from `oc login`. */
  token?: string;
  refreshToken?: string;
  /** When the access token from `oc login` expires (ISO time); API tokens have none. */
  expiresAt?: string;
}

export interface CliConfig {
  current?: string;
  contexts: Record<string, CliContext>;
}

export function configDir(env: NodeJS.ProcessEnv): string {
  if (env.OPENCRANE_CONFIG_DIR) return env.OPENCRANE_CONFIG_DIR;
  return path.join(env.XDG_CONFIG_HOME ?? path.join(env.HOME ?? homedir(), '.config'), 'opencrane');
}

export const configFile = (env: NodeJS.ProcessEnv) => path.join(configDir(env), 'config.json');

export async function loadCliConfig(env: NodeJS.ProcessEnv): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(configFile(env), 'utf8');
  } catch {
    return { contexts: {} };
  }
  const parsed = JSON.parse(text) as Partial<CliConfig>;
  return { current: parsed.current, contexts: parsed.contexts ?? {} };
}

export async function saveCliConfig(env: NodeJS.ProcessEnv, config: CliConfig): Promise<void> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = configFile(env);
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** A context name from a URL: its host and port, which is what people tell instances apart by. */
export const contextNameOf = (url: string) => new URL(url).host;
