// The Datastore contract: a revisioned key/value store with compare-and-swap and watch.
//
// Every backend (memory, etcd v3) implements exactly this interface and passes the same
// contract suite (contract.test-suite.ts). Values are JSON documents. Revisions are the store's
// global, monotonically increasing modification counter (etcd's mod_revision); a KVPair's
// `revision` is the revision at which that key was last written, and is what update/delete
// compare against. Keys follow Calico's etcd layout (see model/keys.ts).
//
// Invariants:
// - create fails with AlreadyExists if the key exists; update/delete with an expected revision
//   fail with Conflict if the key's current revision differs, NotFound if it is absent.
// - txn applies all of its operations atomically or none of them.
// - watch delivers every change after `fromRevision`, in revision order, exactly once; if that
//   revision has been compacted away it relists and calls onResync with a fresh snapshot
//   instead, then continues with events after the snapshot's revision.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export type Revision = number;

export interface KVPair {
  readonly key: string;
  readonly value: JsonValue;
  /** Revision of the last write to this key (etcd mod_revision). */
  readonly revision: Revision;
  /** Revision at which this key was created (etcd create_revision). */
  readonly createRevision: Revision;
}

export interface ListResult {
  readonly items: KVPair[];
  /** Store revision at which the list was taken; watch from here to see what follows. */
  readonly revision: Revision;
}

/** A key without its value: what listKeys returns. */
export interface KeyInfo {
  readonly key: string;
  readonly revision: Revision;
  readonly createRevision: Revision;
}

export interface KeyListResult {
  readonly keys: KeyInfo[];
  /** Store revision at which the keys were listed. */
  readonly revision: Revision;
}

export type WatchEvent =
  | { readonly type: 'put'; readonly kv: KVPair; readonly prev?: KVPair }
  | { readonly type: 'delete'; readonly key: string; readonly revision: Revision; readonly prev?: KVPair };

export interface WatchHandler {
  /** A batch of changes, all at revisions <= `revision`, in order. */
  onEvents(events: WatchEvent[], revision: Revision): void;
  /** The watch could not resume (compaction): this snapshot replaces everything under the prefix. */
  onResync(snapshot: ListResult): void;
  /** Transient trouble (connection lost, retrying). The watch keeps going on its own. */
  onError?(err: Error): void;
}

export interface WatchHandle {
  close(): Promise<void>;
}

export type TxnOp =
  | { readonly op: 'create'; readonly key: string; readonly value: JsonValue }
  | { readonly op: 'update'; readonly key: string; readonly value: JsonValue; readonly revision: Revision }
  | { readonly op: 'put'; readonly key: string; readonly value: JsonValue }
  | { readonly op: 'delete'; readonly key: string; readonly revision?: Revision };

export interface TxnResult {
  /** Store revision after the transaction. */
  readonly revision: Revision;
  /** One entry per op: the written pair, or for delete the pair as it was. */
  readonly results: KVPair[];
}

/** Largest number of operations a single txn may carry (etcd's default --max-txn-ops). */
export const MAX_TXN_OPS = 128;

export interface Datastore {
  /** Human-readable description for logs and errors, e.g. "etcdv3 https://10.0.0.1:2379". */
  readonly description: string;
  get(key: string): Promise<KVPair | undefined>;
  /** Every key starting with `prefix`, sorted by key. */
  list(prefix: string): Promise<ListResult>;
  /**
   * Every key starting with `prefix`, sorted by key, at one revision, without values: what list
   * returns minus the values, for callers that only need to know which keys exist (and their
   * revisions) and would otherwise read many large values for nothing.
   */
  listKeys(prefix: string): Promise<KeyListResult>;
  create(key: string, value: JsonValue): Promise<KVPair>;
  update(key: string, value: JsonValue, revision: Revision): Promise<KVPair>;
  /** Unconditional write (create or overwrite). */
  put(key: string, value: JsonValue): Promise<KVPair>;
  /** Delete; with `revision`, only if the key is still at that revision. Returns the deleted pair. */
  delete(key: string, revision?: Revision): Promise<KVPair>;
  /** All-or-nothing. On a failed condition throws Conflict/AlreadyExists/NotFound with `opIndex`. */
  txn(ops: readonly TxnOp[]): Promise<TxnResult>;
  /** Watch keys under `prefix` for changes after `fromRevision`. */
  watch(prefix: string, fromRevision: Revision, handler: WatchHandler): WatchHandle;
  close(): Promise<void>;
}

export type DatastoreErrorCode =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Compacted'
  | 'Unavailable'
  | 'TooLarge'
  | 'Invalid';

export class DatastoreError extends Error {
  override readonly name = 'DatastoreError';
  constructor(
    readonly code: DatastoreErrorCode,
    message: string,
    readonly key?: string,
    readonly opIndex?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isDatastoreError(err: unknown, code?: DatastoreErrorCode): err is DatastoreError {
  return err instanceof DatastoreError && (code === undefined || err.code === code);
}

export const notFound = (key: string, opIndex?: number): DatastoreError =>
  new DatastoreError('NotFound', `key ${key} does not exist`, key, opIndex);
export const alreadyExists = (key: string, opIndex?: number): DatastoreError =>
  new DatastoreError('AlreadyExists', `key ${key} already exists`, key, opIndex);
export const conflict = (key: string, expected: Revision, actual: Revision, opIndex?: number): DatastoreError =>
  new DatastoreError('Conflict', `key ${key} is at revision ${actual}, expected ${expected}`, key, opIndex);

/**
 * The checks every backend makes before looking at a transaction's conditions: at most
 * MAX_TXN_OPS operations, each key once, expected revisions positive integers.
 */
export function checkTxnShape(ops: readonly TxnOp[]): void {
  if (ops.length > MAX_TXN_OPS) {
    throw new DatastoreError('TooLarge', `transaction has ${ops.length} operations, the limit is ${MAX_TXN_OPS}`);
  }
  const seen = new Set<string>();
  ops.forEach((op, i) => {
    if (seen.has(op.key)) throw new DatastoreError('Invalid', `key ${op.key} appears twice in one transaction`, op.key, i);
    seen.add(op.key);
    const rev = op.op === 'update' || op.op === 'delete' ? op.revision : undefined;
    if (rev !== undefined && !(Number.isSafeInteger(rev) && rev > 0)) {
      throw new DatastoreError('Invalid', `op ${i} (${op.op} ${op.key}) has revision ${String(rev)}; expected a positive integer`, op.key, i);
    }
  });
}
