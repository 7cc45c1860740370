// What jose alone allows on this machine, measured in the benchmark's own process: the work one token
// exchange cannot avoid (verify the RS256 ServiceAccount token, sign an ES256 access token), and the
// access-token verifier a resource server runs, on its signature path and on its cache.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  SignJWT, calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JSONWebKeySet,
} from 'jose';
import { signAccessToken, type AccessTokenSigner } from '../token-service/access-tokens.ts';
import { createTokenVerifier, type TokenVerifier } from '../token-service/token-verifier.ts';

async function newSigningKey() {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  const jwks: JSONWebKeySet = { keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] };
  return { kid, privateKey, jwks };
}

/**
 * Runs `step` from `concurrency` loops for about `durationMs`, reading the clock every `batch` steps;
 * answers steps per second over the time actually taken.
 */
async function rate(step: (i: number) => Promise<unknown>, options: { durationMs: number; concurrency?: number; batch?: number }): Promise<number> {
  const { durationMs, concurrency = 1, batch = 1 } = options;
  let count = 0;
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    let i = worker;
    while (performance.now() < until) {
      for (let b = 0; b < batch; b++, i += concurrency) await step(i);
      count += batch;
    }
  }));
  return count / ((performance.now() - started) / 1000);
}

export interface RawJoseOptions {
  /** ServiceAccount tokens, verified in turn. */
  subjectTokens: string[];
  /** The workload issuer's published keys. */
  workloadJwks: JSONWebKeySet;
  workloadIssuer: string;
  workloadAudience: string;
}

/** One exchange's unavoidable cryptography, as the token service does it, with nothing around it. */
async function rawExchangeStep(options: RawJoseOptions): Promise<(i: number) => Promise<string>> {
  const keys = createLocalJWKSet(options.workloadJwks);
  const signing = await newSigningKey();
  const tokens = options.subjectTokens;
  return async (i) => {
    const { payload } = await jwtVerify(tokens[i % tokens.length]!, keys, {
      algorithms: ['RS256', 'ES256'], issuer: options.workloadIssuer, audience: options.workloadAudience, clockTolerance: 5,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    });
    const iat = Math.floor(Date.now() / 1000);
    return new SignJWT({ owner: 'person_bench', sv: 0, client_id: payload.sub })
      .setProtectedHeader({ alg: 'ES256', kid: signing.kid, typ: 'at+jwt' })
      .setIssuer('http://127.0.0.1').setSubject(String(payload.sub)).setAudience('http://127.0.0.1/mcp')
      .setIssuedAt(iat).setNotBefore(iat).setExpirationTime(iat + 300).setJti(randomUUID())
      .sign(signing.privateKey);
  };
}

/** As many raw exchanges as `concurrency` loops manage in `durationMs`: ops/s. */
export async function measureRawJose(options: RawJoseOptions & { durationMs: number; concurrency: number }): Promise<number> {
  return rate(await rawExchangeStep(options), { durationMs: options.durationMs, concurrency: options.concurrency });
}

/** Raw exchanges started at an even `ratePerSecond` for `durationMs`, however long each takes (to see what the rate costs). */
export async function paceRawJose(options: RawJoseOptions & { durationMs: number; ratePerSecond: number }): Promise<void> {
  const step = await rawExchangeStep(options);
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000);
  const intervalMs = 1000 / options.ratePerSecond;
  const running: Promise<unknown>[] = [];
  const start = performance.now();
  await new Promise<void>((resolve) => {
    let next = 0;
    const tick = () => {
      for (; next < total && start + next * intervalMs <= performance.now(); next++) running.push(step(next));
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, start + next * intervalMs - performance.now()));
    };
    tick();
  });
  await Promise.all(running);
}

export interface VerifierFigures {
  /** Distinct tokens, each verified once: the signature path. */
  coldPerSecond: number;
  coldTokens: number;
  /** One token again and again: the cache. */
  warmPerSecond: number;
  /** A working set of distinct tokens, all cached, in turn. */
  warmSetPerSecond: number;
  warmSetSize: number;
}

export async function measureVerifier(options: { coldTokens: number; warmSetSize: number; warmMs: number }): Promise<VerifierFigures> {
  const issuer = 'https://opencrane.bench.example';
  const audience = `${issuer}/mcp`;
  const key = await newSigningKey();
  const signer: AccessTokenSigner = { issuer, currentSigningKey: () => Promise.resolve({ kid: key.kid, alg: 'ES256', privateKey: key.privateKey }) };
  const sign = (i: number) => signAccessToken(signer, {
    subject: `assistant_${i}`, owner: `person_${i % 500}`, audience, epoch: 0, ttlSeconds: 300,
  }, Date.now()).then((issued) => issued.token);
  const newVerifier = (): TokenVerifier => createTokenVerifier({ issuer, audience, jwks: key.jwks, currentEpoch: () => 0 });

  const tokens: string[] = [];
  for (let i = 0; i < options.coldTokens; i += 500) {
    tokens.push(...await Promise.all(Array.from({ length: Math.min(500, options.coldTokens - i) }, (_, j) => sign(i + j))));
  }
  // Warms the code paths on another instance, so none of the timed tokens is in the timed cache.
  const warmUp = newVerifier();
  for (const token of tokens.slice(0, 200)) await warmUp.verify(token);
  const cold = newVerifier();
  const started = performance.now();
  for (const token of tokens) await cold.verify(token);
  const coldPerSecond = tokens.length / ((performance.now() - started) / 1000);

  const warm = newVerifier();
  const one = tokens[0]!;
  await warm.verify(one);
  const warmPerSecond = await rate(() => warm.verify(one), { durationMs: options.warmMs, batch: 1000 });

  const set = tokens.slice(0, options.warmSetSize);
  const warmSet = newVerifier();
  for (const token of set) await warmSet.verify(token);
  const warmSetPerSecond = await rate((i) => warmSet.verify(set[i % set.length]!), { durationMs: options.warmMs, batch: 1000 });
  return { coldPerSecond, coldTokens: tokens.length, warmPerSecond, warmSetPerSecond, warmSetSize: set.length };
}
