// Picks how workload identities are checked from the configuration: the cluster issuer's JWKS (the
// default), the TokenReview API, or, in development, the in-process development workload issuer.
import { loadKubeConfig, type Config } from '../core/index.ts';
import { createJwksWorkloadValidator, createTokenReviewValidator, type WorkloadIdentityValidator } from './workload-identity.ts';

export async function createWorkloadValidator(
  workload: Config['workload'], cluster: Config['cluster'], developmentIssuer?: string,
): Promise<WorkloadIdentityValidator> {
  if (workload.validation === 'tokenreview') {
    // In a pod: the token service's own ServiceAccount; elsewhere OPENCRANE_KUBECONFIG, KUBECONFIG or ~/.kube/config.
    return createTokenReviewValidator({ kubeConfig: loadKubeConfig(cluster), audience: workload.audience });
  }
  const issuer = workload.issuer ?? developmentIssuer;
  if (!issuer) throw new Error('OPENCRANE_WORKLOAD_ISSUER is not set and no development workload issuer runs');
  return createJwksWorkloadValidator({ issuer, audience: workload.audience });
}
