// `tabbyctl ipam split N --cidr CIDR | --name POOL`: replace one IP pool by N equal pools, as
// calicoctl's `ipam split` does (calico-internals.md §4.6; the arithmetic is core/split.ts).
//
// Like calicoctl it needs the datastore locked (ClusterInformation `default` datastoreReady=false),
// so no allocation races the change of pools. Unlike calicoctl (disable, create each child,
// delete, one write at a time) it writes everything in one transaction — the parent deleted at
// the revision it was read at, every child created — so a failure leaves the old pool untouched
// and nothing half-split. Children are enabled and keep the parent's labels, annotations and spec
// (blockSize, encapsulation, selectors, ...) apart from the CIDR.

import { randomUUID } from 'node:crypto';
import type { Datastore, JsonValue, TxnOp } from '../datastore/index.js';
import { MAX_TXN_OPS, isDatastoreError } from '../datastore/index.js';
import { cidrEquals, formatCIDR, parseCIDR } from '../ip/index.js';
import { STORED, resourceKey, validateResource } from '../model/index.js';
import { LOCK_HINT } from './core/cluster-info.js';
import { isJsonObject } from '../util/index.js';
import { poolFromResource } from './core/pools.js';
import { splitCidr, splitPoolName } from './core/split.js';
import { IpamOperationError, readClusterMeta } from './operations.js';

export interface SplitResult {
  readonly pool: string;
  readonly cidr: string;
  readonly created: { name: string; cidr: string }[];
}

export async function ipamSplit(ds: Datastore, parts: number, target: { cidr?: string; name?: string }, now: () => Date = () => new Date()): Promise<SplitResult> {
  if ((target.cidr === undefined) === (target.name === undefined)) throw new IpamOperationError('Invalid', 'give the pool to split: either --cidr CIDR or --name POOL');
  if (!(await readClusterMeta(ds)).datastoreLocked) {
    throw new IpamOperationError('Invalid', `the datastore is not locked (ClusterInformation default, spec.datastoreReady is not false); lock it first so no address is assigned while pools change: ${LOCK_HINT}`);
  }
  const { key, kv } = await findPool(ds, target);
  const pool = poolFromResource(kv.value, key);
  const children = splitCidr(pool.cidr, parts, pool.blockSize);
  if (children.length + 1 > MAX_TXN_OPS) throw new IpamOperationError('Invalid', `splitting into ${parts} pools needs ${parts + 1} writes, more than one transaction holds (${MAX_TXN_OPS}); split in steps`);
  const parent = kv.value as { metadata?: Record<string, JsonValue>; spec?: Record<string, JsonValue> } & Record<string, JsonValue>;
  const created: { name: string; cidr: string }[] = [];
  const ops: TxnOp[] = [{ op: 'delete', key, revision: kv.revision }];
  for (const [i, cidr] of children.entries()) {
    const name = splitPoolName(pool.name, i);
    const meta = isJsonObject(parent.metadata) ? parent.metadata : {};
    const obj = {
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: {
        name,
        ...(isJsonObject(meta['labels']) ? { labels: meta['labels'] } : {}),
        ...(isJsonObject(meta['annotations']) ? { annotations: meta['annotations'] } : {}),
      },
      spec: { ...(isJsonObject(parent.spec) ? parent.spec : {}), cidr: formatCIDR(cidr), disabled: false },
    };
    const valid = validateResource(obj, { source: `split of IPPool ${pool.name}` });
    const value = { ...valid, metadata: { ...valid.metadata, uid: randomUUID(), creationTimestamp: now().toISOString().replace(/\.\d{3}Z$/, 'Z') } } as unknown as JsonValue;
    ops.push({ op: 'create', key: resourceKey(STORED.IPPool, undefined, name), value });
    created.push({ name, cidr: formatCIDR(cidr) });
  }
  try {
    await ds.txn(ops);
  } catch (err) {
    if (isDatastoreError(err, 'AlreadyExists')) {
      const at = err.opIndex === undefined ? undefined : created[err.opIndex - 1];
      throw new IpamOperationError('Conflict', `IPPool ${at?.name ?? 'split-' + pool.name + '-*'} already exists; nothing was changed (delete or rename it, then split again)`);
    }
    if (isDatastoreError(err, 'Conflict') || isDatastoreError(err, 'NotFound')) {
      throw new IpamOperationError('Conflict', `IPPool ${pool.name} changed while splitting it; nothing was changed (run the split again)`);
    }
    throw err;
  }
  return { pool: pool.name, cidr: formatCIDR(pool.cidr), created };
}

async function findPool(ds: Datastore, target: { cidr?: string; name?: string }) {
  if (target.name !== undefined) {
    const key = resourceKey(STORED.IPPool, undefined, target.name);
    const kv = await ds.get(key);
    if (!kv) throw new IpamOperationError('NotFound', `IPPool ${target.name} does not exist (see tabbyctl get ippools)`);
    return { key, kv };
  }
  let want;
  try {
    want = parseCIDR(target.cidr!);
  } catch (e) {
    throw new IpamOperationError('Invalid', `--cidr ${target.cidr}: ${(e as Error).message}`);
  }
  const { items } = await ds.list(STORED.IPPool.keyPrefix);
  const kv = items.find((p) => {
    const spec = isJsonObject(p.value) && isJsonObject(p.value['spec']) ? p.value['spec'] : {};
    try {
      return typeof spec['cidr'] === 'string' && cidrEquals(parseCIDR(spec['cidr'], { lenient: true }), want);
    } catch {
      return false;
    }
  });
  if (!kv) throw new IpamOperationError('NotFound', `no IPPool has CIDR ${formatCIDR(want)} (see tabbyctl get ippools)`);
  return { key: kv.key, kv };
}
