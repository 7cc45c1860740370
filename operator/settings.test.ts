import { describe, expect, it } from 'vitest';
import { loadOperatorConfig } from './settings.ts';

const required = { OPENCRANE_WORKLOAD_AUDIENCE: 'https://opencrane.example.com', OPENCRANE_TOKEN_SERVICE_URL: 'http://token-service:8080' };

describe('operator configuration', () => {
  it('defaults: one namespace, its own Lease there, egress to the four OpenCrane services', () => {
    const config = loadOperatorConfig(required);
    expect(config.namespace).toBe('opencrane');
    expect(config.leaseNamespace).toBe('opencrane');
    expect(config.settings.instance).toBe('opencrane');
    expect(config.settings.egressTo.map((e) => e.podLabels['app.kubernetes.io/name'])).toEqual([
      'opencrane-token-service', 'opencrane-mcp-gateway', 'opencrane-skills', 'opencrane-knowledge',
    ]);
    expect(config.settings.modelEndpoints).toEqual([]);
  });

  it('the token audience and the token service URL are required, named in the message', () => {
    expect(() => loadOperatorConfig({})).toThrow(/OPENCRANE_WORKLOAD_AUDIENCE/);
  });

  it('watching every namespace needs a Lease namespace', () => {
    expect(() => loadOperatorConfig({ ...required, OPENCRANE_OPERATOR_NAMESPACE: '*' })).toThrow(/OPENCRANE_OPERATOR_LEASE_NAMESPACE/);
    const config = loadOperatorConfig({ ...required, OPENCRANE_OPERATOR_NAMESPACE: '*', OPENCRANE_OPERATOR_LEASE_NAMESPACE: 'ops' });
    expect(config.namespace).toBeUndefined();
    expect(config.leaseNamespace).toBe('ops');
  });

  it('a network setting that is not JSON, or not the right shape, is refused with the variable named', () => {
    expect(() => loadOperatorConfig({ ...required, OPENCRANE_OPERATOR_NETWORK: '{' })).toThrow(/OPENCRANE_OPERATOR_NETWORK is not JSON/);
    expect(() => loadOperatorConfig({ ...required, OPENCRANE_OPERATOR_NETWORK: '{"ingressFrom":[]}' })).toThrow(/OPENCRANE_OPERATOR_NETWORK/);
    const config = loadOperatorConfig({
      ...required,
      OPENCRANE_OPERATOR_NETWORK: JSON.stringify({ ingressFrom: [], egressTo: [], modelEndpoints: [{ cidr: '203.0.113.0/24', ports: [443] }] }),
    });
    expect(config.settings.modelEndpoints).toEqual([{ cidr: '203.0.113.0/24', ports: [443] }]);
  });

  it('an instance name that is not a DNS label is refused', () => {
    expect(() => loadOperatorConfig({ ...required, OPENCRANE_INSTANCE: 'Not_A_Label' })).toThrow(/OPENCRANE_INSTANCE/);
  });
});
