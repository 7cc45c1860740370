// Data for the screens, loaded through the same typed API client the commands use.
import { useEffect, useState } from 'react';
import { call, type ApiClient } from '../client.ts';
import type { components } from '../api/schema.ts';

export type Person = components['schemas']['Person'];
export type Assistant = components['schemas']['Assistant'];
export type Grant = components['schemas']['Grant'];
export type AuditEvent = components['schemas']['AuditEvent'];
export type Explanation = components['schemas']['DecisionExplanation'];

export interface Loaded<T> { data?: T; error?: string; loading: boolean }

/** Runs `load` once (and again when `key` changes, or every `refreshMs`), keeping the last answer. */
export function useLoad<T>(load: () => Promise<T>, key: unknown = undefined, refreshMs?: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ loading: true });
  useEffect(() => {
    let live = true;
    const run = () => {
      load().then((data) => { if (live) setState({ data, loading: false }); },
        (err: unknown) => { if (live) setState({ error: err instanceof Error ? err.message : String(err), loading: false }); });
    };
    run();
    const timer = refreshMs ? setInterval(run, refreshMs) : undefined;
    return () => { live = false; if (timer) clearInterval(timer); };
    // `load` is a new function each render; `key` says when the question changed.
  }, [key, refreshMs]);
  return state;
}

export interface Option { id: string; label: string; detail?: string }

export async function subjects(api: ApiClient, kind: 'person' | 'team' | 'department'): Promise<Option[]> {
  if (kind === 'person') {
    const page = await call('listing people', api.GET('/api/v1/people', { params: { query: { limit: 200, status: 'active' } } }));
    return page.items.map((p) => ({ id: p.id, label: p.email, detail: p.displayName }));
  }
  const page = kind === 'team'
    ? await call('listing teams', api.GET('/api/v1/teams', { params: { query: { limit: 200 } } }))
    : await call('listing departments', api.GET('/api/v1/departments', { params: { query: { limit: 200 } } }));
  return page.items.map((t) => ({ id: t.id, label: t.name }));
}

export async function resources(api: ApiClient, kind: 'tool' | 'skill' | 'knowledge'): Promise<Option[]> {
  const page = kind === 'tool'
    ? await call('listing tools', api.GET('/api/v1/tools', { params: { query: { limit: 200 } } }))
    : kind === 'skill'
      ? await call('listing skills', api.GET('/api/v1/skills', { params: { query: { limit: 200 } } }))
      : await call('listing knowledge', api.GET('/api/v1/knowledge', { params: { query: { limit: 200 } } }));
  return page.items.map((r) => ({ id: r.id, label: r.name }));
}
