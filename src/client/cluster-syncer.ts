// The typed view of the cluster: Calico's syncer → calculation-graph feed (Felix's shape). It
// lists and watches the datastore (datastore/syncer.ts does the list-then-watch, resync after
// compaction or a lost watch, and the status), decodes every entry through the model, and hands
// its consumer a typed snapshot followed by typed updates:
//
//   onStatus('WaitForDatastore' | 'ResyncInProgress' | 'InSync')
//   onUpdates([{ kind: 'Node', key, name, value: Node }, { kind: 'Pod', key, name, namespace, value: undefined }, ...])
//
// `value: undefined` means the object is gone. Everything delivered before the first InSync is
// the snapshot; after a resync only real changes are sent, then InSync again.
// Invariants:
// - An entry that does not decode is reported to onInvalid (a StoredValueError naming the key)
//   and is treated as absent: a consumer that had the old value gets `value: undefined`.
// - Callbacks run one at a time, never after stop(). Changes to one kind arrive in datastore
//   order; kinds are watched separately (one prefix each), so changes of different kinds may
//   interleave differently from the order they were written in.
// - `get` / `list` answer from what the consumer has been told, never from the datastore.

import { type Datastore, type KVPair, type SyncStatus, type SyncUpdate, Syncer, type SyncerOptions } from '../datastore/index.js';
import { formatCIDR } from '../ip/index.js';
import {
  HANDLE_PREFIX,
  HOST_PREFIX,
  STORED,
  type StoredBlock,
  type StoredBlockAffinity,
  type StoredHandle,
  type StoredKindName,
  StoredValueError,
  type TypedKind,
  type ValueOf,
  blockPrefix,
  decodeStored,
  decodeStoredAffinity,
  decodeStoredBlock,
  decodeStoredHandle,
  parseAffinityKey,
  parseBlockKey,
  parseHandleKey,
  parseResourceKey,
} from '../model/index.js';

/** One change to a resource kind; `value` is undefined when the object was deleted. */
export type ResourceUpdate = {
  readonly [K in StoredKindName]: {
    readonly kind: K;
    readonly key: string;
    readonly name: string;
    readonly namespace?: string;
    readonly revision: number;
    readonly value: ValueOf<(typeof STORED)[K]> | undefined;
  };
}[StoredKindName];

interface IpamValues {
  readonly IPAMBlock: StoredBlock;
  readonly BlockAffinity: StoredBlockAffinity;
  readonly IPAMHandle: StoredHandle;
}
export type IpamKindName = keyof IpamValues;

/** One change to an IPAM record; `name` is the block CIDR, `<node>/<cidr>` or the handle ID. */
export type IpamUpdate = {
  readonly [K in IpamKindName]: { readonly kind: K; readonly key: string; readonly name: string; readonly revision: number; readonly value: IpamValues[K] | undefined };
}[IpamKindName];

export type ClusterUpdate = ResourceUpdate | IpamUpdate;
export type ClusterKindName = StoredKindName | IpamKindName;

export interface ClusterSyncerCallbacks {
  onStatus(status: SyncStatus): void;
  /** A batch of typed changes, never empty. */
  onUpdates(updates: readonly ClusterUpdate[]): void;
  /** A stored value that does not decode (treated as absent). Default: ignored after reporting to onError. */
  onInvalid?(err: StoredValueError): void;
  /** Transient datastore trouble; the syncer retries by itself. */
  onError?(err: Error): void;
}

export interface ClusterSyncerOptions extends SyncerOptions {
  /** The resource kinds to follow (default: every stored kind). */
  readonly kinds?: readonly StoredKindName[];
  /** The IPAM records to follow (default: none). */
  readonly ipam?: readonly IpamKindName[];
}

const IPAM_PREFIXES: Record<IpamKindName, readonly string[]> = {
  IPAMBlock: [blockPrefix(4), blockPrefix(6)],
  BlockAffinity: [HOST_PREFIX],
  IPAMHandle: [HANDLE_PREFIX],
};

type Identity = { kind: ClusterKindName; name: string; namespace?: string };

const KIND_NAMES = new Map<unknown, StoredKindName>((Object.keys(STORED) as StoredKindName[]).map((k) => [STORED[k], k]));

/** Which object a key names, from the key alone (deleted entries have no value to look at). */
function identityOf(key: string): Identity | undefined {
  const affinity = parseAffinityKey(key);
  if (affinity !== undefined) return { kind: 'BlockAffinity', name: `${affinity.node}/${formatCIDR(affinity.block)}` };
  const handle = parseHandleKey(key);
  if (handle !== undefined) return { kind: 'IPAMHandle', name: handle };
  const block = parseBlockKey(key);
  if (block !== undefined) return { kind: 'IPAMBlock', name: formatCIDR(block) };
  const parsed = parseResourceKey(key);
  const kind = parsed === undefined ? undefined : KIND_NAMES.get(parsed.kind);
  if (parsed === undefined || kind === undefined) return undefined;
  return { kind, name: parsed.name, ...(parsed.namespace === undefined ? {} : { namespace: parsed.namespace }) };
}

function decodeValue(id: Identity, key: string, value: unknown): unknown {
  switch (id.kind) {
    case 'BlockAffinity':
      return decodeStoredAffinity(key, value);
    case 'IPAMHandle':
      return decodeStoredHandle(key, value);
    case 'IPAMBlock':
      return decodeStoredBlock(key, value);
    default:
      return decodeStored(STORED[id.kind] as TypedKind<unknown>, key, value);
  }
}

const nameKey = (kind: string, name: string, namespace: string | undefined): string => `${kind}\0${namespace ?? ''}\0${name}`;

export class ClusterSyncer {
  private readonly syncer: Syncer;
  /** What the consumer has been told: key → typed update with a value. */
  private readonly told = new Map<string, ClusterUpdate>();
  /** kind, namespace, name → key, for `get`. */
  private readonly byName = new Map<string, string>();
  private current: SyncStatus | undefined;

  constructor(
    ds: Datastore,
    private readonly callbacks: ClusterSyncerCallbacks,
    opts: ClusterSyncerOptions = {},
  ) {
    const kinds = opts.kinds ?? (Object.keys(STORED) as StoredKindName[]);
    const prefixes = [...kinds.map((k) => STORED[k].keyPrefix), ...(opts.ipam ?? []).flatMap((k) => IPAM_PREFIXES[k])];
    this.syncer = new Syncer(ds, [...new Set(prefixes)], {
      onStatusUpdated: (s) => {
        this.current = s;
        this.callbacks.onStatus(s);
      },
      onUpdates: (u) => this.deliver(u),
      onError: (e) => this.callbacks.onError?.(e),
    }, opts);
  }

  get status(): SyncStatus | undefined {
    return this.current;
  }

  start(): void {
    this.syncer.start();
  }

  stop(): Promise<void> {
    return this.syncer.stop();
  }

  /** The object of a kind by name, as last delivered. */
  get<K extends StoredKindName>(kind: K, name: string, namespace?: string): ValueOf<(typeof STORED)[K]> | undefined;
  get<K extends IpamKindName>(kind: K, name: string): IpamValues[K] | undefined;
  get(kind: ClusterKindName, name: string, namespace?: string): unknown {
    const key = this.byName.get(nameKey(kind, name, namespace));
    return key === undefined ? undefined : this.told.get(key)?.value;
  }

  /** Every object of a kind, as last delivered, in key order. */
  list<K extends ClusterKindName>(kind: K): Extract<ClusterUpdate, { kind: K }>[] {
    return [...this.told.values()].filter((u): u is Extract<ClusterUpdate, { kind: K }> => u.kind === kind).sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  private deliver(batch: readonly SyncUpdate[]): void {
    const out: ClusterUpdate[] = [];
    for (const u of batch) {
      const update = u.type === 'deleted' ? this.gone(u.key, u.revision) : this.decode(u.kv);
      if (update === undefined) continue;
      const ns = 'namespace' in update ? update.namespace : undefined;
      if (update.value === undefined) {
        if (!this.told.has(update.key)) continue;
        this.told.delete(update.key);
        this.byName.delete(nameKey(update.kind, update.name, ns));
      } else {
        this.told.set(update.key, update);
        this.byName.set(nameKey(update.kind, update.name, ns), update.key);
      }
      out.push(update);
    }
    if (out.length > 0) this.callbacks.onUpdates(out);
  }

  private decode(kv: KVPair): ClusterUpdate | undefined {
    const id = identityOf(kv.key);
    if (id === undefined) {
      this.report(new StoredValueError(kv.key, ['the key names no kind Tabby knows']));
      return undefined;
    }
    try {
      return { ...id, key: kv.key, revision: kv.revision, value: decodeValue(id, kv.key, kv.value) } as ClusterUpdate;
    } catch (err) {
      if (!(err instanceof StoredValueError)) throw err;
      this.report(err);
      return { ...id, key: kv.key, revision: kv.revision, value: undefined } as ClusterUpdate;
    }
  }

  private report(err: StoredValueError): void {
    if (this.callbacks.onInvalid) this.callbacks.onInvalid(err);
    else this.callbacks.onError?.(err);
  }

  private gone(key: string, revision: number): ClusterUpdate | undefined {
    const id = identityOf(key);
    return id === undefined ? undefined : ({ ...id, key, revision, value: undefined } as ClusterUpdate);
  }
}
