import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalKeyEncryptor, KeyEncryptionError, loadKeyEncryptionKey } from './key-encryption.ts';

const SECRET = JSON.stringify({ kty: 'EC', crv: 'P-256', d: 'private-part' });

/** Flips one bit in the byte at `index` of the base64url part `part` (1 = iv, 2 = ciphertext, 3 = tag). */
function flip(envelope: string, part: number, index = 0): string {
  const parts = envelope.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[index] = bytes[index]! ^ 0x01;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('AES-256-GCM key envelopes', () => {
  const encryptor = createLocalKeyEncryptor(randomBytes(32));

  it('a sealed key opens again with the same key id', async () => {
    const envelope = await encryptor.encrypt(SECRET, 'kid-1');
    expect(envelope).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
    expect(envelope).not.toContain('private-part');
    expect(await encryptor.decrypt(envelope, 'kid-1')).toBe(SECRET);
  });

  it('sealing the same key twice gives different envelopes (fresh IV each time)', async () => {
    expect(await encryptor.encrypt(SECRET, 'kid-1')).not.toBe(await encryptor.encrypt(SECRET, 'kid-1'));
  });

  it('a sealed key moved to another key id does not open (the kid is authenticated data)', async () => {
    const envelope = await encryptor.encrypt(SECRET, 'kid-1');
    await expect(encryptor.decrypt(envelope, 'kid-2')).rejects.toThrow(KeyEncryptionError);
  });

  it('a flipped byte in the IV, the ciphertext or the tag is detected', async () => {
    const envelope = await encryptor.encrypt(SECRET, 'kid-1');
    for (const part of [1, 2, 3]) {
      await expect(encryptor.decrypt(flip(envelope, part), 'kid-1'), `part ${part}`).rejects.toThrow(KeyEncryptionError);
    }
    await expect(encryptor.decrypt(flip(envelope, 2, 20), 'kid-1')).rejects.toThrow(/does not authenticate/);
  });

  it('an envelope sealed under another key-encryption key does not open', async () => {
    const other = createLocalKeyEncryptor(randomBytes(32));
    await expect(other.decrypt(await encryptor.encrypt(SECRET, 'kid-1'), 'kid-1')).rejects.toThrow(KeyEncryptionError);
  });

  it('something that is not a v1 envelope is refused', async () => {
    for (const bad of ['', 'v2.a.b.c', SECRET, 'v1.AAAA.BBBB.CCCC']) {
      await expect(encryptor.decrypt(bad, 'kid-1')).rejects.toThrow(/not a v1 envelope/);
    }
  });

  it('a key-encryption key of the wrong size is refused', () => {
    expect(() => createLocalKeyEncryptor(randomBytes(16))).toThrow(/32 bytes/);
  });
});

describe('loading the key-encryption key', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'opencrane-kek-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });
  const configIn = (dir: string, extra: { keyEncryptionKey?: string; production?: boolean } = {}) => ({
    keyEncryptionKey: extra.keyEncryptionKey, keyEncryptionKeyFile: path.join(dir, 'key-encryption-key'), production: extra.production ?? false,
  });

  it('OPENCRANE_KEY_ENCRYPTION_KEY wins, in base64 or base64url, and no file is written', async () => {
    const key = randomBytes(32);
    expect(await loadKeyEncryptionKey(configIn(home, { keyEncryptionKey: key.toString('base64') }))).toEqual(key);
    expect(await loadKeyEncryptionKey(configIn(home, { keyEncryptionKey: key.toString('base64url') }))).toEqual(key);
    await expect(stat(path.join(home, 'key-encryption-key'))).rejects.toThrow(/ENOENT/);
  });

  it('without the variable, a 32-byte key is generated once into a 0600 file and read back after', async () => {
    const first = await loadKeyEncryptionKey(configIn(home));
    expect(first.byteLength).toBe(32);
    const file = path.join(home, 'key-encryption-key');
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadKeyEncryptionKey(configIn(home))).toEqual(first);
    expect(Buffer.from((await readFile(file, 'utf8')).trim(), 'base64')).toEqual(first);
  });

  it('a key file readable by others is tightened to 0600', async () => {
    const file = path.join(home, 'key-encryption-key');
    await writeFile(file, randomBytes(32).toString('base64'), { mode: 0o644 });
    await loadKeyEncryptionKey(configIn(home));
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('a key file that does not hold 32 bytes stops the start with a clear message', async () => {
    await writeFile(path.join(home, 'key-encryption-key'), 'c2hvcnQ=', { mode: 0o600 });
    await expect(loadKeyEncryptionKey(configIn(home))).rejects.toThrow(/must hold 32 bytes/);
  });

  it('production without OPENCRANE_KEY_ENCRYPTION_KEY is refused (replicas must share the key)', async () => {
    await expect(loadKeyEncryptionKey(configIn(home, { production: true }))).rejects.toThrow(/OPENCRANE_KEY_ENCRYPTION_KEY is required/);
  });
});
