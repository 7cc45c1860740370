// Installs (or updates) the Assistant CustomResourceDefinition with server-side apply and waits until
// the API server serves it. Used by `npm run operator -- install-crd` and by the test harness; a Helm
// install ships the same definition in the chart's crds/ folder.
import { assistantCrd } from './assistant-resource.ts';
import { FIELD_MANAGER } from './desired-state.ts';
import type { KubeApi } from './kube-api.ts';
import type { KubeObject } from './kube-object.ts';

const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };

export async function installAssistantCrd(api: KubeApi, timeoutMs = 30_000): Promise<void> {
  const crd = assistantCrd();
  await api.apply(crd, FIELD_MANAGER);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = await api.get<KubeObject & { status?: { conditions?: { type: string; status: string }[] } }>(CRD, crd.metadata.name);
    if (live?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline) throw new Error(`the ${crd.metadata.name} CustomResourceDefinition was not established within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
