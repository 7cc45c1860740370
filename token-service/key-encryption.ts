// Envelope encryption for signing keys at rest. A `KeyEncryptor` seals a secret under a context
// string (the key id) so a sealed private key cannot be moved to another row and still open. The
// local implementation uses AES-256-GCM under a 32-byte key-encryption key (KEK); a KMS-backed
// implementation plugs in behind the same interface.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import type { Config } from '../core/index.ts';

export interface KeyEncryptor {
  /** Seals `plaintext`; `context` is bound as additional authenticated data and must be given again to open it. */
  encrypt(plaintext: string, context: string): Promise<string>;
  /** Opens an envelope sealed with the same context; throws KeyEncryptionError when it does not authenticate. */
  decrypt(envelope: string, context: string): Promise<string>;
}

export class KeyEncryptionError extends Error {
  override readonly name = 'KeyEncryptionError';
}

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ENVELOPE = /^v1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/;

/** AES-256-GCM envelopes: `v1.<iv>.<ciphertext>.<tag>`, each part base64url. */
export function createLocalKeyEncryptor(kek: Uint8Array): KeyEncryptor {
  if (kek.byteLength !== KEY_BYTES) throw new KeyEncryptionError(`the key-encryption key must be ${KEY_BYTES} bytes, not ${kek.byteLength}`);
  const key = Buffer.from(kek);
  return {
    encrypt(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const parts = [iv, ciphertext, cipher.getAuthTag()].map((b) => b.toString('base64url'));
      return Promise.resolve(`v1.${parts.join('.')}`);
    },
    decrypt(envelope, context) {
      const match = ENVELOPE.exec(envelope);
      if (!match) return Promise.reject(new KeyEncryptionError('the sealed key is not a v1 envelope'));
      const [iv, ciphertext, tag] = match.slice(1).map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer];
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Promise.resolve(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8'));
      } catch {
        return Promise.reject(new KeyEncryptionError(
          'the sealed key does not authenticate: it was changed, belongs to another key id, or was sealed under a different key-encryption key'));
      }
    },
  };
}

function decodeKek(text: string, source: string): Buffer {
  // Node's base64 decoder also accepts the URL-safe alphabet, which the configuration allows.
  const bytes = Buffer.from(text.trim(), 'base64');
  if (bytes.byteLength !== KEY_BYTES) {
    throw new KeyEncryptionError(`${source} must hold ${KEY_BYTES} bytes, base64 encoded (for example: openssl rand -base64 32)`);
  }
  return bytes;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';
const isTaken = (err: unknown) => (err as NodeJS.ErrnoException).code === 'EEXIST';

/**
 * The key-encryption key: OPENCRANE_KEY_ENCRYPTION_KEY when set; otherwise (the embedded default) a
 * file under OPENCRANE_HOME, created with 32 random bytes and mode 0600 on first start. Production
 * must set the variable: every replica needs the same key, and a pod's file system is not shared.
 */
export async function loadKeyEncryptionKey(
  config: Pick<Config, 'keyEncryptionKey' | 'keyEncryptionKeyFile' | 'production'>,
): Promise<Buffer> {
  if (config.keyEncryptionKey) return decodeKek(config.keyEncryptionKey, 'OPENCRANE_KEY_ENCRYPTION_KEY');
  if (config.production) {
    throw new KeyEncryptionError('OPENCRANE_KEY_ENCRYPTION_KEY is required when NODE_ENV=production (every replica must share it)');
  }
  const file = config.keyEncryptionKeyFile;
  try {
    // `wx` creates the file only if it is absent, so two processes starting together agree on one key.
    await writeFile(file, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if (!isTaken(err)) throw err;
  }
  try {
    if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) {
      await chmod(file, 0o600);
    }
    return decodeKek(await readFile(file, 'utf8'), file);
  } catch (err) {
    if (isMissing(err)) throw new KeyEncryptionError(`the key-encryption key file ${file} disappeared while starting`);
    throw err;
  }
}
