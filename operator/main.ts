// `npm run start:operator`: the operator as its own process. Reads its settings from the environment
// (operator/settings.ts), its Kubernetes credentials from the pod's ServiceAccount or KUBECONFIG, and
// serves /metrics, /healthz and /readyz. `npm run operator -- install-crd` installs the Assistant CRD;
// `npm run operator -- print-crd` prints it as JSON for `kubectl apply -f -`.
import Fastify from 'fastify';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../core/index.ts';
import { assistantCrd } from './assistant-resource.ts';
import { installAssistantCrd } from './install-crd.ts';
import { createKubeApi } from './kube-api.ts';
import { startOperator } from './operator.ts';
import { OperatorConfigError, loadOperatorConfig } from './settings.ts';

const command = process.argv[2] ?? 'run';

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

if (command === 'print-crd') {
  process.stdout.write(`${JSON.stringify(assistantCrd(), null, 2)}\n`);
} else if (command === 'install-crd') {
  await installAssistantCrd(createKubeApi(kubeConfig()));
  process.stdout.write('assistants.opencrane.io installed and established\n');
} else if (command === 'run') {
  let config;
  try {
    config = loadOperatorConfig();
  } catch (err) {
    if (err instanceof OperatorConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  const operator = await startOperator({
    kubeConfig: kubeConfig(), settings: config.settings, namespace: config.namespace, clusterDomain: config.clusterDomain,
    resyncIntervalMs: config.resyncIntervalMs, concurrency: config.concurrency, identity: config.identity,
    lease: { namespace: config.leaseNamespace }, logger,
  });
  const app = Fastify({ logger: false });
  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/readyz', (_req, reply) => (operator.synced() ? { status: 'ok', leader: operator.isLeader() } : reply.code(503).send({ status: 'syncing' })));
  app.get('/metrics', async (_req, reply) => reply.type(operator.metrics.registry.contentType).send(await operator.metrics.registry.metrics()));
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address, namespace: config.namespace ?? '*', instance: config.settings.instance }, 'OpenCrane operator running');
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    Promise.all([operator.stop(), app.close()]).then(() => process.exit(0), (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} else {
  process.stderr.write(`unknown command ${command}: use run (the default), install-crd or print-crd\n`);
  process.exit(2);
}
