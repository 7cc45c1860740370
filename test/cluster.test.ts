/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-explicit-any -- assertions walk plain Kubernetes JSON */
// The control plane, the operator and the token service against one real kube-apiserver: a person's
// assistant becomes an Assistant resource the operator provisions and whose status the API shows;
// suspension and leaving reach the cluster; the token service checks projected ServiceAccount tokens
// with TokenReview. Without a cluster, assistants say so and nothing fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { createLogger, serviceAccountNameOf } from '../core/index.ts';
import { API_VERSION, KIND, LABELS, startOperator, type AssistantResource, type RunningOperator } from '../operator/index.ts';
import { NO_CLUSTER_MESSAGE } from '../server/routes/assistants.ts';
import { TOKEN_EXCHANGE_GRANT_TYPE, TOKEN_TYPE_JWT } from '../token-service/exchange.ts';
import { apiClient, type ApiClient } from './support/api.ts';
import { apiFixtures, type ApiFixtures } from './support/api-fixtures.ts';
import { startTestControlPlane, type TestControlPlane } from './support/control-plane.ts';
import { testDatabases } from './support/databases.ts';
import { startTestCluster, type TestCluster } from './support/kube-cluster.ts';
import { waitUntil } from './support/wait.ts';

const NAMESPACE = 'opencrane-assistants';
const AUDIENCE = 'https://tokens.opencrane.test';
const ISSUER = 'http://127.0.0.1:8080';
const ASSISTANT_REF = { apiVersion: API_VERSION, kind: KIND };

interface AssistantView {
  id: string; personId: string; status: string; statusMessage: string | null; endpoint: string | null;
  resource: { apiVersion: string; kind: string; namespace: string; name: string } | null;
}

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster();
  await cluster.namespace(NAMESPACE);
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe.each(testDatabases)('assistants provisioned in a cluster, on $name', (target) => {
  let control: TestControlPlane;
  let operator: RunningOperator;
  let api: ApiClient;
  let f: ApiFixtures;
  const instance = `cp-${target.name}`;

  beforeAll(async () => {
    control = await startTestControlPlane(target, {
      OPENCRANE_KUBERNETES: 'kubeconfig', OPENCRANE_KUBECONFIG: cluster.kubeconfigPath, OPENCRANE_INSTANCE: instance,
      OPENCRANE_ASSISTANT_NAMESPACE: NAMESPACE, OPENCRANE_ASSISTANT_RETENTION: 'delete',
    });
    api = apiClient(control);
    f = apiFixtures(api);
    operator = await startOperator({
      kubeConfig: cluster.kubeConfig, namespace: NAMESPACE, logger: createLogger('silent'),
      lease: { namespace: NAMESPACE, retryPeriodMs: 300 },
      settings: {
        instance, tokenAudience: AUDIENCE, sidecarImage: 'ghcr.io/opencrane/assistant-sidecar:0.1.0',
        tokenServiceUrl: 'http://opencrane-token-service:8080', ingressFrom: [], egressTo: [], modelEndpoints: [],
      },
    });
  }, 60_000);
  afterAll(async () => {
    await operator?.stop();
    await control?.close();
  }, 30_000);

  const assistantOf = async (personId: string): Promise<AssistantView> => {
    const response = await api({ method: 'GET', url: `/api/v1/assistants?personId=${personId}` });
    return response.json<{ items: AssistantView[] }>().items[0]!;
  };
  const resourceOf = (view: AssistantView) => cluster.api.get<AssistantResource>(ASSISTANT_REF, view.resource!.name, NAMESPACE);

  it('a new person\'s assistant becomes an Assistant resource, and the API shows the operator\'s status', async () => {
    const person = await f.person();
    const first = await assistantOf(person.id);
    expect(first.resource).toMatchObject({ apiVersion: API_VERSION, kind: KIND, namespace: NAMESPACE });
    const resource = await waitUntil(() => resourceOf(first), (r) => r !== undefined, 10_000, 'the Assistant resource');
    expect(resource!.metadata.labels?.[LABELS.instance]).toBe(instance);
    expect(resource!.spec).toMatchObject({ owner: { personId: person.id, email: person.email }, suspended: false, retention: 'delete' });
    const shown = await waitUntil(() => assistantOf(person.id), (a) => a.status === 'provisioning', 15_000, 'the status in the API');
    expect(shown.endpoint).toBe(`http://${first.resource!.name}.${NAMESPACE}.svc.cluster.local:8080`);
    expect(shown.statusMessage).toMatch(/waiting for the assistant's pod/);
  });

  it('suspending the person suspends the Assistant (zero replicas); reactivating resumes it', async () => {
    const person = await f.person();
    const view = await assistantOf(person.id);
    await waitUntil(() => assistantOf(person.id), (a) => a.status === 'provisioning', 15_000, 'provisioning');
    const suspend = await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { status: 'suspended' } });
    expect(suspend.statusCode, suspend.body).toBe(200);
    await waitUntil(() => resourceOf(view), (r) => r?.status?.phase === 'Suspended', 15_000, 'Suspended in the cluster');
    const sts = await cluster.api.get<any>({ apiVersion: 'apps/v1', kind: 'StatefulSet' }, view.resource!.name, NAMESPACE);
    expect(sts.spec.replicas).toBe(0);
    await waitUntil(() => assistantOf(person.id), (a) => a.status === 'suspended', 10_000, 'suspended in the API');

    await api({ method: 'PATCH', url: `/api/v1/people/${person.id}`, body: { status: 'active' } });
    await waitUntil(() => assistantOf(person.id), (a) => a.status === 'provisioning', 15_000, 'provisioning again in the API');
    const resumed = await cluster.api.get<any>({ apiVersion: 'apps/v1', kind: 'StatefulSet' }, view.resource!.name, NAMESPACE);
    expect(resumed.spec.replicas).toBe(1);
  });

  it('a person who leaves loses their Assistant resource and, with retention "delete", its storage', async () => {
    const person = await f.person();
    const view = await assistantOf(person.id);
    await waitUntil(() => assistantOf(person.id), (a) => a.status === 'provisioning', 15_000, 'provisioning');
    const removed = await api({ method: 'DELETE', url: `/api/v1/people/${person.id}` });
    expect(removed.statusCode, removed.body).toBe(204);
    await waitUntil(() => resourceOf(view), (r) => r === undefined, 15_000, 'the Assistant resource to go');
    expect(await cluster.api.get({ apiVersion: 'v1', kind: 'PersistentVolumeClaim' }, `${view.resource!.name}-data`, NAMESPACE)).toBeUndefined();
  });

  it('an Assistant resource deleted by hand in the cluster is written again by the control plane\'s resync', async () => {
    const person = await f.person();
    const view = await assistantOf(person.id);
    await waitUntil(() => resourceOf(view), (r) => r !== undefined, 10_000, 'the resource');
    await cluster.api.delete(ASSISTANT_REF, view.resource!.name, NAMESPACE);
    await waitUntil(() => resourceOf(view), (r) => r === undefined, 15_000, 'the finalizer to finish');
    await control.plane.assistantResources!.syncAll();
    await waitUntil(() => resourceOf(view), (r) => r !== undefined, 10_000, 'the resource to be written again');
  });
});

describe('TokenReview against the real API server', () => {
  let control: TestControlPlane;
  let api: ApiClient;
  let f: ApiFixtures;
  let assistantId: string;
  let serviceAccount: string;

  const exchange = (subjectToken: string): Promise<LightMyRequestResponse> => control.plane.app.inject({
    method: 'POST', url: '/oauth2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE, subject_token: subjectToken, subject_token_type: TOKEN_TYPE_JWT, audience: `${ISSUER}/mcp`,
    }).toString(),
  });
  const tokenFor = async (name: string, namespace: string, audience: string) => {
    const review = await cluster.api.request<{ status: { token: string } }>('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [audience], expirationSeconds: 600 } },
    });
    return review.status.token;
  };

  beforeAll(async () => {
    control = await startTestControlPlane(testDatabases[0]!, {
      OPENCRANE_WORKLOAD_VALIDATION: 'tokenreview', OPENCRANE_KUBECONFIG: cluster.kubeconfigPath,
      OPENCRANE_WORKLOAD_AUDIENCE: AUDIENCE, OPENCRANE_ASSISTANT_NAMESPACE: NAMESPACE,
    });
    api = apiClient(control);
    f = apiFixtures(api);
    const person = await f.person();
    const tool = await f.tool();
    await f.grant({ subject: { kind: 'person', id: person.id }, resource: { kind: 'tool', id: tool.id }, effect: 'allow' });
    const assistant = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<{ items: AssistantView[] }>().items[0]!;
    assistantId = assistant.id;
    serviceAccount = serviceAccountNameOf(assistantId);
    await cluster.api.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace: NAMESPACE } }, 'opencrane-test');
  }, 60_000);
  afterAll(async () => {
    await control?.close();
  });

  it('a projected token of the assistant\'s ServiceAccount, for the token service\'s audience, is exchanged', async () => {
    const response = await exchange(await tokenFor(serviceAccount, NAMESPACE, AUDIENCE));
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json<{ access_token: string }>().access_token.split('.')).toHaveLength(3);
  });

  it('a token the API server issued for another audience is refused', async () => {
    const response = await exchange(await tokenFor(serviceAccount, NAMESPACE, 'https://kubernetes.default.svc'));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('the same ServiceAccount name in another namespace maps to no assistant', async () => {
    const other = await cluster.namespace('not-assistants');
    await cluster.api.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace: other } }, 'opencrane-test');
    const response = await exchange(await tokenFor(serviceAccount, other, AUDIENCE));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('a token whose ServiceAccount was deleted is refused (TokenReview sees what a JWKS check cannot)', async () => {
    const name = serviceAccount;
    const token = await tokenFor(name, NAMESPACE, AUDIENCE);
    await cluster.api.delete({ apiVersion: 'v1', kind: 'ServiceAccount' }, name, NAMESPACE);
    // The API server caches token authentications for about 10 s.
    const refused = await waitUntil(() => exchange(token), (r) => r.statusCode === 400, 30_000, 'the token to be refused');
    expect(refused.json()).toMatchObject({ error: 'invalid_grant' });
  }, 40_000);
});

describe('without a cluster', () => {
  it('assistants say no cluster is configured, and creating people still works', async () => {
    const control = await startTestControlPlane(testDatabases[0]!, {});
    try {
      const api = apiClient(control);
      const person = await apiFixtures(api).person();
      const view = (await api({ method: 'GET', url: `/api/v1/assistants?personId=${person.id}` })).json<{ items: AssistantView[] }>().items[0]!;
      expect(view).toMatchObject({ status: 'pending', statusMessage: NO_CLUSTER_MESSAGE, resource: null });
      expect(control.plane.assistantResources).toBeNull();
    } finally {
      await control.close();
    }
  });
});
