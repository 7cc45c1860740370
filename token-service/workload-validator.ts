// Picks how workload identities are checked from the configuration: the cluster issuer's JWKS (the
// default), the TokenReview API, or, in development, the in-process development workload issuer.
import type { Config } from '../core/index.ts';
import { createJwksWorkloadValidator, createTokenReviewValidator, type WorkloadIdentityValidator } from './workload-identity.ts';

export async function createWorkloadValidator(
  workload: Config['workload'], developmentIssuer?: string,
): Promise<WorkloadIdentityValidator> {
  if (workload.validation === 'tokenreview') {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    // In a pod: the token service's own ServiceAccount; elsewhere KUBECONFIG or ~/.kube/config.
    kubeConfig.loadFromDefault();
    return createTokenReviewValidator({ kubeConfig, audience: workload.audience });
  }
  const issuer = workload.issuer ?? developmentIssuer;
  if (!issuer) throw new Error('OPENCRANE_WORKLOAD_ISSUER is not set and no development workload issuer runs');
  return createJwksWorkloadValidator({ issuer, audience: workload.audience });
}
