// What the CNI plugins run against inside the agent: the datastore, IPAM, this node's name and
// state directory, and a readiness probe for STATUS. Injected, so tests can use MemoryDatastore
// and production the etcd one.

import type { Datastore } from '../datastore/index.js';
import type { Ipam } from '../ipam/index.js';
import type { Logger } from '../util/log.js';
import type { AttachmentStore } from './attachments.js';
import type { NetConf } from './config.js';
import type { CniEnv } from './env.js';

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly code: 50 | 51; readonly details: string };

export interface CniServices {
  readonly datastore: Datastore;
  readonly ipam: Ipam;
  /** The node this agent runs for; a config's `nodename` overrides it per request, like Calico. */
  readonly nodename: string;
  readonly attachments: AttachmentStore;
  /** MTU when the config sets none (Calico falls back to 1500). */
  readonly defaultMtu: number;
  readonly log: Logger;
  /** Whether ADD can be served now (STATUS): code 50 when not, 51 when existing pods suffer too. */
  readiness(): Promise<Readiness>;
  /**
   * Called by ADD once the WorkloadEndpoint is written and the veth is up; resolves when the
   * endpoint's policy is in the dataplane (a pod is isolated before its first packet), rejects
   * (bounded in time) when it could not be programmed: ADD then fails with DataplaneFailure.
   */
  endpointWritten?(key: string, value: unknown): Promise<void>;
}

export interface CniRequestContext {
  readonly env: CniEnv;
  readonly conf: NetConf;
  readonly log: Logger;
  readonly phases: Phases;
}

/** Where a request spent its time, logged with it: "ipam 4.1, veth 6.3, wep 1.2" (ms). */
export class Phases {
  private last = performance.now();
  readonly ms: Record<string, number> = {};

  mark(name: string): void {
    const now = performance.now();
    this.ms[name] = Math.round((this.ms[name] ?? 0) + (now - this.last) * 10) / 10;
    this.last = now;
  }
}

export const nodeFor = (services: CniServices, conf: NetConf): string => conf.nodename ?? services.nodename;
