// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it:
// the holder renews the Lease every retry period; a candidate takes it over once it has seen the same
// record unchanged for a whole lease duration (measured on its own clock, so clocks need not agree);
// updates carry the resourceVersion read, so two candidates can never both win. A leader that cannot
// renew within the renew deadline stops leading before anyone else may start.
import type { KubeApi } from './kube-api.ts';
import { isConflict } from './kube-api.ts';
import type { KubeObject } from './kube-object.ts';

export interface LeaderElectionOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
  onError?: (err: unknown) => void;
}

export interface LeaderElector {
  isLeader(): boolean;
  /** Stops campaigning; a leader gives the Lease up so a standby takes over at once. */
  stop(): Promise<void>;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}
type Lease = KubeObject & { spec?: LeaseSpec };

const LEASE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' } as const;

/** MicroTime: RFC 3339 with exactly six fractional digits, as the API server parses it. */
const microTime = (date: Date) => date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function startLeaderElection(options: LeaderElectionOptions): LeaderElector {
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const leaseSeconds = Math.max(1, Math.ceil(leaseDurationMs / 1000));
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let observed: { key: string; at: number } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let cycle: Promise<void> = Promise.resolve();

  const spec = (now: Date, lease: Lease | undefined): LeaseSpec => {
    const held = lease?.spec?.holderIdentity === options.identity;
    return {
      holderIdentity: options.identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: held && lease?.spec?.acquireTime ? lease.spec.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (held || !lease?.spec?.holderIdentity ? 0 : 1),
    };
  };

  async function becomeLeader(): Promise<void> {
    if (leader) return;
    leader = true;
    await options.onStartedLeading();
  }

  async function stopLeading(): Promise<void> {
    if (!leader) return;
    leader = false;
    await options.onStoppedLeading();
  }

  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const lease = await options.api.get<Lease>(LEASE, options.name, options.namespace);
    if (!lease) {
      await options.api.create({ ...LEASE, metadata: { name: options.name, namespace: options.namespace }, spec: spec(now, undefined) });
      return true;
    }
    const holder = lease.spec?.holderIdentity;
    const key = `${lease.metadata.resourceVersion as string}`;
    if (observed?.key !== key) observed = { key, at: Date.now() };
    if (holder && holder !== options.identity) {
      const duration = (lease.spec?.leaseDurationSeconds ?? leaseSeconds) * 1000;
      if (Date.now() - observed.at < duration) return false;
    }
    await options.api.replace({ ...lease, spec: spec(now, lease) });
    return true;
  }

  async function round(): Promise<void> {
    try {
      if (await tryAcquireOrRenew()) {
        lastRenew = Date.now();
        await becomeLeader();
        return;
      }
    } catch (err) {
      if (!isConflict(err)) options.onError?.(err);
    }
    if (leader && Date.now() - lastRenew > renewDeadlineMs) await stopLeading();
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      cycle = round().finally(schedule);
    }, retryPeriodMs);
  };
  cycle = round().finally(schedule);

  return {
    isLeader: () => leader,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await cycle;
      if (!leader) return;
      await stopLeading();
      try {
        const lease = await options.api.get<Lease>(LEASE, options.name, options.namespace);
        if (lease?.spec?.holderIdentity === options.identity) {
          // Released as client-go does: no holder and a one-second duration, so a standby takes over now.
          await options.api.replace({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } });
        }
      } catch (err) {
        options.onError?.(err);
      }
    },
  };
}
