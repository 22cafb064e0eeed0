// tabbyctl ipam split N --cidr CIDR | --name POOL: replace one IP pool by N equal pools, as
// calicoctl's `ipam split` does (calico-internals.md §4.6; the arithmetic is ipam/core/split.ts).
//
// Like calicoctl it needs the datastore locked (ClusterInformation `default` datastoreReady=false),
// so no allocation races the change of pools. Unlike calicoctl (disable, create each child,
// delete, one write at a time) it writes everything in one transaction — the parent deleted at
// the revision it was read at, every child created — so a failure leaves the old pool untouched
// and nothing half-split. Children are enabled and keep the parent's labels, annotations and spec
// (blockSize, encapsulation, selectors, ...) apart from the CIDR.

import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { timestamp } from '../client/index.js';
import type { Datastore, TxnOp } from '../datastore/index.js';
import { MAX_TXN_OPS, isDatastoreError } from '../datastore/index.js';
import { cidrEquals, formatCIDR, parseCIDR } from '../ip/index.js';
import { CLUSTER_INFO_KEY, LOCK_HINT, UNLOCK_HINT, clusterMetaOf } from '../ipam/index.js';
import { isJsonObject, type JsonValue } from '../util/index.js';
import { IPPOOL_PREFIX } from '../ipam/index.js';
import { poolFromResource } from '../ipam/index.js';
import { splitCidr, splitPoolName } from '../ipam/index.js';
import { IpamOperationError, type Rendered } from '../ipam/index.js';
import { validateResource } from '../model/index.js';
import type { CtlContext } from './context.js';
import type { DatastoreFlags } from './datastore-options.js';
import { EXIT_CODES_HELP } from './exit-codes.js';
import { UsageError } from './output.js';

export interface SplitResult {
  readonly pool: string;
  readonly cidr: string;
  readonly created: { name: string; cidr: string }[];
}

export async function ipamSplit(ds: Datastore, parts: number, target: { cidr?: string; name?: string }, now: () => Date = () => new Date()): Promise<Rendered<SplitResult>> {
  if ((target.cidr === undefined) === (target.name === undefined)) throw new IpamOperationError('Invalid', 'give the pool to split: either --cidr CIDR or --name POOL');
  const info = await ds.get(CLUSTER_INFO_KEY);
  if (!clusterMetaOf(info?.value, info?.revision).datastoreLocked) {
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
    const value = { ...valid, metadata: { ...valid.metadata, uid: randomUUID(), creationTimestamp: timestamp(now()) } } as unknown as JsonValue;
    ops.push({ op: 'create', key: `${IPPOOL_PREFIX}${name}`, value });
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
  const lines = [
    `IP Pool ${pool.name} was successfully split into ${parts} smaller pools.`,
    ...created.map((c) => `Created ${c.name} with CIDR ${c.cidr}.`),
    `When done, unlock the datastore: ${UNLOCK_HINT}`,
  ];
  return { data: { pool: pool.name, cidr: formatCIDR(pool.cidr), created }, text: lines.join('\n') + '\n' };
}

async function findPool(ds: Datastore, target: { cidr?: string; name?: string }) {
  if (target.name !== undefined) {
    const key = `${IPPOOL_PREFIX}${target.name}`;
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
  const { items } = await ds.list(IPPOOL_PREFIX);
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

export function registerIpamSplitCommand(ipam: Command, ctx: CtlContext): void {
  ctx
    .addDatastoreOptions(ipam.command('split'))
    .description('split an IP pool into N equal pools (N a power of two); the datastore must be locked')
    .argument('<number>', 'how many pools to split into: 2, 4, 8, ...')
    .option('--cidr <cidr>', 'CIDR of the IP pool to split')
    .option('--name <pool>', 'name of the IP pool to split')
    .option('-o, --output <format>', 'text (default) or json')
    .addHelpText(
      'after',
      `\nThe new pools are named split-<pool>-0, split-<pool>-1, ... in address order, are enabled, and keep\nthe pool's other settings. Lock the datastore first and unlock it after:\n  ${LOCK_HINT}\n  ${UNLOCK_HINT}\n\nExamples:\n  tabbyctl ipam split 2 --cidr 172.16.0.0/16\n  tabbyctl ipam split 4 --name default-ipv4-ippool\n\n${EXIT_CODES_HELP}\n`,
    )
    .action(
      ctx.action(async (number: string, opts: DatastoreFlags & { cidr?: string; name?: string; output?: string }) => {
        if (opts.output !== undefined && !['text', 'json'].includes(opts.output)) throw new UsageError(`-o ${opts.output}: ipam split prints text (the default) or json`);
        if (!/^\d+$/.test(number)) throw new UsageError(`${number}: the number of pools must be a whole number (2, 4, 8, ...)`);
        const r = await ctx.withDatastore(opts, (ds) =>
          ipamSplit(ds, Number(number), { ...(opts.cidr === undefined ? {} : { cidr: opts.cidr }), ...(opts.name === undefined ? {} : { name: opts.name }) }),
        );
        ctx.out(opts.output === 'json' ? JSON.stringify(r.data, null, 2) + '\n' : r.text);
      }),
    );
}
