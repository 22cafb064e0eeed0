// This node's VXLAN tunnel endpoints (calico/node's tunnel-address allocator): when a pool of a
// family uses VXLAN, the node gets a tunnel address from IPAM under Calico's handle
// (`vxlan-tunnel-addr-<node>`, `vxlan-v6-tunnel-addr-<node>`, attribute type
// vxlanTunnelAddress / vxlanV6TunnelAddress) and a VTEP MAC, both written to its Node resource
// (`spec.ipv4VXLANTunnelAddr` + `vxlanTunnelMACAddr`, `spec.ipv6VXLANTunnelAddr` +
// `vxlanTunnelMACAddrV6`). When no pool of the family uses VXLAN any more, the address is released
// and the fields removed. Other nodes learn the VTEP from the Node resource; this node's route
// reconciler builds its device from it.
//
// Runs one check at a time; a check requested during one runs once more after it. Node writes are
// compare-and-swap, retried on conflict.

import { randomBytes } from 'node:crypto';
import { type Datastore, type JsonValue, isDatastoreError } from '../datastore/datastore.js';
import type { TunnelIpam } from '../ipam/index.js';
import type { Logger } from '../util/log.js';
import type { ClusterView } from './core/cluster-view.js';

const NODE_PREFIX = '/calico/resources/v3/projectcalico.org/nodes/';
const FIELDS = { 4: { addr: 'ipv4VXLANTunnelAddr', mac: 'vxlanTunnelMACAddr' }, 6: { addr: 'ipv6VXLANTunnelAddr', mac: 'vxlanTunnelMACAddrV6' } } as const;

/** A random unicast, locally administered MAC (as Calico generates its VTEP MACs). */
export function randomVtepMac(bytes: Uint8Array = randomBytes(6)): string {
  const b = Array.from(bytes.slice(0, 6));
  b[0] = (b[0]! & 0xfe) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

type Obj = { [k: string]: JsonValue };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class TunnelAddresses {
  private running = false;
  private again = false;

  constructor(
    private readonly deps: { readonly ds: Datastore; readonly ipam: TunnelIpam; readonly nodename: string; readonly log: Logger; readonly mac?: () => string },
  ) {}

  /** Re-checks against the view (call after pool or Node changes). */
  poke(view: ClusterView): void {
    this.again = true;
    if (this.running) return;
    this.running = true;
    void (async () => {
      try {
        while (this.again) {
          this.again = false;
          await this.check(view).catch((e: Error) => this.deps.log.warn('could not update this node\'s VXLAN tunnel address; retrying on the next change', { error: e.message }));
        }
      } finally {
        this.running = false;
      }
    })();
  }

  private async check(view: ClusterView): Promise<void> {
    const me = view.nodes.get(this.deps.nodename);
    if (!me) return;
    for (const family of [4, 6] as const) {
      const want = [...view.pools.values()].some((p) => p.cidr.family === family && p.vxlanMode !== 'Never' && !p.disabled) && (family === 4 ? me.ipv4 : me.ipv6) !== undefined;
      const have = family === 4 ? me.vtep4 : me.vtep6;
      if (want && !have) {
        const a = await this.deps.ipam.assignTunnelAddress(this.deps.nodename, family, 'vxlan');
        await this.writeNode(family, a.ip);
        this.deps.log.info('VXLAN tunnel address assigned', { family, address: a.ip });
      } else if (!want && have) {
        await this.writeNode(family, undefined);
        const released = await this.deps.ipam.releaseTunnelAddress(this.deps.nodename, family, 'vxlan');
        this.deps.log.info('VXLAN tunnel address released: no pool of the family uses VXLAN', { family, released });
      }
    }
  }

  /** Sets (address given) or removes this node's VTEP fields of one family, by CAS. */
  private async writeNode(family: 4 | 6, address: string | undefined): Promise<void> {
    const key = `${NODE_PREFIX}${this.deps.nodename}`;
    const f = FIELDS[family];
    for (let attempt = 1; ; attempt++) {
      const kv = await this.deps.ds.get(key);
      if (!kv || !isObj(kv.value)) throw new Error(`Node ${this.deps.nodename} is not in the datastore; \`tabby node\` registers it`);
      const spec: Obj = { ...(isObj(kv.value.spec) ? kv.value.spec : {}) };
      if (address === undefined) {
        delete spec[f.addr];
        delete spec[f.mac];
      } else {
        spec[f.addr] = address;
        if (typeof spec[f.mac] !== 'string' || spec[f.mac] === '') spec[f.mac] = (this.deps.mac ?? randomVtepMac)();
      }
      try {
        await this.deps.ds.update(key, { ...kv.value, spec }, kv.revision);
        return;
      } catch (e) {
        if (attempt < 10 && isDatastoreError(e, 'Conflict')) continue;
        throw e;
      }
    }
  }
}
