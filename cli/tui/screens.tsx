// The screens of the interactive view. Each is thin: data comes from hooks over the API client,
// keys from keybindings.ts.
import { useRef, useState } from 'react';
import { Box, Text, useInput } from 'ink';
import { call, type ApiClient } from '../client.ts';
import { Failure, Frame, Picker, VISIBLE_ROWS, Waiting } from './components.tsx';
import { KEYS } from './keybindings.ts';
import { resources, subjects, useLoad, type Option } from './hooks.ts';
import type { Theme } from './theme.ts';

export type Screen = 'dashboard' | 'people' | 'assistants' | 'grants' | 'grant-editor' | 'access' | 'audit';

interface ScreenProps { api: ApiClient; theme: Theme; go: (screen: Screen) => void; quit?: () => void }

export function Dashboard({ api, theme, go, quit }: ScreenProps) {
  const state = useLoad(async () => {
    const [people, assistants, grants, audit] = await Promise.all([
      call('listing people', api.GET('/api/v1/people', { params: { query: { limit: 200 } } })),
      call('listing assistants', api.GET('/api/v1/assistants', { params: { query: { limit: 200 } } })),
      call('listing grants', api.GET('/api/v1/grants', { params: { query: { limit: 200 } } })),
      call('reading the audit trail', api.GET('/api/v1/audit', { params: { query: { limit: 5 } } })),
    ]);
    const byStatus = new Map<string, number>();
    for (const a of assistants.items) byStatus.set(a.status, (byStatus.get(a.status) ?? 0) + 1);
    return { people: people.items, assistants: byStatus, grants: grants.items.length, audit: audit.items };
  }, undefined, 5000);
  useInput((input) => {
    const target = ({ p: 'people', a: 'assistants', g: 'grants', n: 'grant-editor', x: 'access', l: 'audit' } as const)[input as 'p'];
    if (target) go(target);
    else if (input === 'q') quit?.();
  });
  return (
    <Frame title="dashboard" keys={KEYS.dashboard} theme={theme}>
      {state.loading && !state.data ? <Waiting what="Loading the organisation…" /> : null}
      {state.error ? <Failure message={state.error} theme={theme} /> : null}
      {state.data ? (
        <Box flexDirection="column">
          <Text>People: {state.data.people.length} ({state.data.people.filter((p) => p.status === 'suspended').length} suspended)   Grants: {state.data.grants}</Text>
          <Text>Assistants: {[...state.data.assistants].map(([s, n]) => `${n} ${s}`).join(', ') || 'none'}</Text>
          <Box marginTop={1} flexDirection="column">
            <Text bold>Recent activity</Text>
            {state.data.audit.map((e) => <Text key={e.id} wrap="truncate">{e.at.slice(0, 19).replace('T', ' ')}  {e.action}  {e.actor}</Text>)}
          </Box>
        </Box>
      ) : null}
    </Frame>
  );
}

const LISTS = {
  people: { title: 'people', load: async (api: ApiClient) => (await call('listing people', api.GET('/api/v1/people', { params: { query: { limit: 200 } } }))).items.map((p) => `${p.email.padEnd(30)} ${p.status.padEnd(9)} ${p.displayName}`) },
  assistants: { title: 'assistants', load: async (api: ApiClient) => (await call('listing assistants', api.GET('/api/v1/assistants', { params: { query: { limit: 200 } } }))).items.map((a) => `${a.id}  ${a.status.padEnd(12)} ${a.statusMessage ?? ''}`) },
  grants: {
    title: 'grants',
    async load(api: ApiClient) {
      // Subjects and resources by name, which is how people know them.
      const [grants, names] = await Promise.all([
        call('listing grants', api.GET('/api/v1/grants', { params: { query: { limit: 200 } } })),
        Promise.all([
          subjects(api, 'person'), subjects(api, 'team'), subjects(api, 'department'),
          resources(api, 'tool'), resources(api, 'skill'), resources(api, 'knowledge'),
        ]).then((lists) => new Map(lists.flat().map((o) => [o.id, o.label]))),
      ]);
      const name = (id: string) => names.get(id) ?? id;
      return grants.items.map((g) => `${g.effect.padEnd(5)} ${g.subject.kind} ${name(g.subject.id)} → ${g.resource.kind} ${name(g.resource.id)}`
        + `${g.resource.toolPattern ? ` (${g.resource.toolPattern})` : ''}${g.expiresAt ? ` until ${g.expiresAt.slice(0, 10)}` : ''}`);
    },
  },
} as const;

export function ListScreen({ api, theme, go, which }: ScreenProps & { which: keyof typeof LISTS }) {
  const list = LISTS[which];
  const state = useLoad(() => list.load(api), which);
  const [view, setView] = useState<{ filter: string | undefined; index: number }>({ filter: undefined, index: 0 });
  // As in the picker: keys may come faster than renders, so the handler reads the latest state.
  const latest = useRef(view);
  latest.current = view;
  const update = (next: { filter: string | undefined; index: number }) => { latest.current = next; setView(next); };
  const matching = (filter: string | undefined) => (state.data ?? []).filter((row) => !filter || row.toLowerCase().includes(filter.toLowerCase()));
  useInput((input, key) => {
    const { filter, index } = latest.current;
    if (filter !== undefined && !key.escape && !key.upArrow && !key.downArrow) {
      if (key.return) return;
      if (key.backspace || key.delete) update({ filter: filter.slice(0, -1), index: 0 });
      else if (input && !key.ctrl) update({ filter: filter + input, index: 0 });
      return;
    }
    if (key.escape) { if (filter !== undefined) update({ filter: undefined, index: 0 }); else go('dashboard'); }
    else if (input === '/') update({ filter: '', index: 0 });
    else if (key.upArrow) update({ filter, index: Math.max(0, index - 1) });
    else if (key.downArrow) update({ filter, index: Math.min(matching(filter).length - 1, index + 1) });
  });
  const { filter, index } = view;
  const rows = matching(filter);
  const start = Math.max(0, Math.min(index - VISIBLE_ROWS + 1, rows.length - VISIBLE_ROWS));
  return (
    <Frame title={`${list.title} (${rows.length})`} keys={KEYS.list} theme={theme}>
      {filter !== undefined ? <Text>Filter: <Text color={theme.accent}>{filter}</Text></Text> : null}
      {state.loading ? <Waiting what={`Loading ${list.title}…`} /> : null}
      {state.error ? <Failure message={state.error} theme={theme} /> : null}
      {rows.slice(start, start + VISIBLE_ROWS).map((row, i) => (
        <Text key={`${start + i}`} wrap="truncate" color={start + i === index ? theme.accent : undefined}>{start + i === index ? '›' : ' '} {row}</Text>
      ))}
      {state.data && rows.length === 0 ? <Text>Nothing here.</Text> : null}
    </Frame>
  );
}

type Draft = {
  subjectKind?: 'person' | 'team' | 'department'; subject?: Option;
  resourceKind?: 'tool' | 'skill' | 'knowledge'; resource?: Option;
  effect?: 'allow' | 'deny'; expiry?: { label: string; days: number | null };
};

const EXPIRIES = [{ label: 'never', days: null }, { label: '1 day', days: 1 }, { label: '7 days', days: 7 }, { label: '30 days', days: 30 }, { label: '90 days', days: 90 }];
const option = (id: string, label: string): Option => ({ id, label });

export function GrantEditor({ api, theme, go }: ScreenProps) {
  const [draft, setDraft] = useState<Draft>({});
  const [result, setResult] = useState<{ ok: boolean; message: string } | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const step = !draft.subjectKind ? 'subject-kind' : !draft.subject ? 'subject' : !draft.resourceKind ? 'resource-kind'
    : !draft.resource ? 'resource' : !draft.effect ? 'effect' : !draft.expiry ? 'expiry' : 'confirm';
  const options = useLoad(async (): Promise<Option[]> => {
    if (step === 'subject') return subjects(api, draft.subjectKind!);
    if (step === 'resource') return resources(api, draft.resourceKind!);
    return [];
  }, `${step}:${draft.subjectKind ?? ''}:${draft.resourceKind ?? ''}`);
  const back = () => { setDraft({}); go('dashboard'); };

  useInput((input, key) => {
    if (result) {
      if (key.return) { setResult(undefined); setDraft({}); } else if (key.escape) back();
      return;
    }
    if (step !== 'confirm' || saving) return;
    if (input === 'y') {
      setSaving(true);
      const expiresAt = draft.expiry!.days === null ? undefined : new Date(Date.now() + draft.expiry!.days * 86_400_000).toISOString();
      call('creating the grant', api.POST('/api/v1/grants', {
        body: {
          subject: { kind: draft.subjectKind!, id: draft.subject!.id }, resource: { kind: draft.resourceKind!, id: draft.resource!.id },
          effect: draft.effect!, ...(expiresAt ? { expiresAt } : {}),
        },
      })).then((grant) => setResult({ ok: true, message: `Created ${grant.effect} grant ${grant.id}.` }),
        (err: unknown) => setResult({ ok: false, message: err instanceof Error ? err.message : String(err) }))
        .finally(() => setSaving(false));
    } else if (input === 'n' || key.escape) back();
  });

  const summary = `${draft.effect ?? '…'} ${draft.subjectKind ?? '…'} ${draft.subject?.label ?? '…'} → ${draft.resourceKind ?? '…'} ${draft.resource?.label ?? '…'}, expires ${draft.expiry?.label ?? '…'}`;
  const pick = (prompt: string, choices: Option[], apply: (o: Option) => void) => (
    // Keyed by the question, so each step starts with its own filter and selection.
    <Picker key={prompt} prompt={prompt} options={choices} onChoose={apply} onBack={back} theme={theme} />
  );
  let body;
  if (result) body = <Text color={result.ok ? theme.good : theme.bad}>{result.ok ? result.message : `Error: ${result.message}`}</Text>;
  else if (step === 'subject-kind') body = pick('Grant to a', ['person', 'team', 'department'].map((k) => option(k, k)), (o) => setDraft({ ...draft, subjectKind: o.id as Draft['subjectKind'] }));
  else if (step === 'subject' || step === 'resource') {
    body = options.loading ? <Waiting what="Loading…" /> : options.error ? <Failure message={options.error} theme={theme} />
      : step === 'subject' ? pick(`Which ${draft.subjectKind}?`, options.data ?? [], (o) => setDraft({ ...draft, subject: o }))
        : pick(`Which ${draft.resourceKind}?`, options.data ?? [], (o) => setDraft({ ...draft, resource: o }));
  } else if (step === 'resource-kind') body = pick('To reach a', ['tool', 'skill', 'knowledge'].map((k) => option(k, k)), (o) => setDraft({ ...draft, resourceKind: o.id as Draft['resourceKind'] }));
  else if (step === 'effect') body = pick('Effect', [option('allow', 'allow'), option('deny', 'deny (beats any allow)')], (o) => setDraft({ ...draft, effect: o.id as 'allow' | 'deny' }));
  else if (step === 'expiry') body = pick('Expires', EXPIRIES.map((e) => option(e.label, e.label)), (o) => setDraft({ ...draft, expiry: EXPIRIES.find((e) => e.label === o.id)! }));
  else body = saving ? <Waiting what="Creating the grant…" /> : <Text>Create this grant? <Text bold>{summary}</Text> (y/n)</Text>;
  return (
    <Frame title="new grant" keys={result ? KEYS.result : step === 'confirm' ? KEYS.confirm : KEYS.picker} theme={theme}>
      <Text dimColor={theme.dim} wrap="truncate">{summary}</Text>
      {body}
    </Frame>
  );
}

export function AccessExplorer({ api, theme, go }: ScreenProps) {
  const [person, setPerson] = useState<Option | undefined>(undefined);
  const [kind, setKind] = useState<'tool' | 'skill' | 'knowledge' | undefined>(undefined);
  const [target, setTarget] = useState<Option | undefined>(undefined);
  const step = !person ? 'person' : !kind ? 'kind' : !target ? 'resource' : 'answer';
  const options = useLoad(async (): Promise<Option[]> => (step === 'person' ? subjects(api, 'person') : step === 'resource' ? resources(api, kind!) : []), `${step}:${kind ?? ''}`);
  const answer = useLoad(async () => (step === 'answer'
    ? call('asking the policy', api.POST('/api/v1/decisions/explain', {
      body: { subject: { personId: person!.id }, action: ({ tool: 'tools.list', skill: 'skills.read', knowledge: 'knowledge.read' } as const)[kind!], resource: { kind: kind!, id: target!.id } },
    }))
    : undefined), `${step}:${target?.id ?? ''}`);
  const reset = () => { setPerson(undefined); setKind(undefined); setTarget(undefined); };
  useInput((_input, key) => {
    if (step !== 'answer') return;
    if (key.return) setTarget(undefined);
    else if (key.escape) { reset(); go('dashboard'); }
  });
  const back = () => { reset(); go('dashboard'); };
  let body;
  if (step === 'kind') body = <Picker key="kind" prompt="Reach a" options={['tool', 'skill', 'knowledge'].map((k) => option(k, k))} onChoose={(o) => setKind(o.id as 'tool')} onBack={back} theme={theme} />;
  else if (step === 'person' || step === 'resource') {
    body = options.loading ? <Waiting what="Loading…" /> : options.error ? <Failure message={options.error} theme={theme} />
      : <Picker key={step} prompt={step === 'person' ? 'Who?' : `Which ${kind}?`} options={options.data ?? []} onChoose={(o) => (step === 'person' ? setPerson(o) : setTarget(o))} onBack={back} theme={theme} />;
  } else if (answer.loading || !answer.data) body = answer.error ? <Failure message={answer.error} theme={theme} /> : <Waiting what="Asking the policy…" />;
  else {
    const e = answer.data;
    body = (
      <Box flexDirection="column">
        <Text bold color={e.allow ? theme.good : theme.bad}>{e.allow ? 'ALLOWED' : 'DENIED'}</Text>
        <Text>{e.summary}</Text>
        {e.considered.map((g) => <Text key={g.id} wrap="truncate">{g.decisive ? '*' : ' '} {g.effect} for {g.subject}{g.toolPattern ? ` (tools ${g.toolPattern})` : ''}</Text>)}
        {e.considered.length === 0 ? <Text dimColor={theme.dim}>No grant applies: denied by default.</Text> : null}
      </Box>
    );
  }
  return (
    <Frame title="access explorer" keys={step === 'answer' ? KEYS.result : KEYS.picker} theme={theme}>
      <Text dimColor={theme.dim}>Why can or can't {person?.label ?? '…'} reach {kind ?? '…'} {target?.label ?? '…'}?</Text>
      {body}
    </Frame>
  );
}

export function AuditTail({ api, theme, go, refreshMs = 2000 }: ScreenProps & { refreshMs?: number }) {
  const state = useLoad(async () => (await call('reading the audit trail', api.GET('/api/v1/audit', { params: { query: { limit: 15 } } }))).items, undefined, refreshMs);
  useInput((_input, key) => { if (key.escape) go('dashboard'); });
  return (
    <Frame title="live audit" keys={KEYS.audit} theme={theme}>
      {state.loading && !state.data ? <Waiting what="Reading the audit trail…" /> : null}
      {state.error ? <Failure message={state.error} theme={theme} /> : null}
      {(state.data ?? []).map((e) => <Text key={e.id} wrap="truncate">{e.at.slice(11, 19)}  {e.action.padEnd(22)} {e.actor.padEnd(24)} {e.targetKind}:{e.targetId}</Text>)}
    </Frame>
  );
}
