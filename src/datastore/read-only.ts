// A Datastore that reads through to another and refuses every write with one explanation.
//
// tabbyctl with DATASTORE_TYPE=memory gets an empty store that vanishes when the command ends:
// a write there would report success and keep nothing, so it is refused instead, saying why.

import { type Datastore, DatastoreError, type KVPair, type KeyListResult, type ListResult, type Revision, type TxnOp, type TxnResult, type WatchHandle, type WatchHandler, type JsonValue } from './datastore.js';

export class ReadOnlyDatastore implements Datastore {
  readonly description: string;

  constructor(
    private readonly inner: Datastore,
    /** Why writes are refused, e.g. "DATASTORE_TYPE=memory keeps nothing between runs". */
    private readonly reason: string,
  ) {
    this.description = `${inner.description} (read-only)`;
  }

  private refuse(key?: string): never {
    throw new DatastoreError('Invalid', `cannot write${key === undefined ? '' : ` ${key}`}: ${this.reason}`, key);
  }

  get(key: string): Promise<KVPair | undefined> {
    return this.inner.get(key);
  }
  list(prefix: string): Promise<ListResult> {
    return this.inner.list(prefix);
  }
  listKeys(prefix: string): Promise<KeyListResult> {
    return this.inner.listKeys(prefix);
  }
  watch(prefix: string, fromRevision: Revision, handler: WatchHandler): WatchHandle {
    return this.inner.watch(prefix, fromRevision, handler);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  create(key: string, _value: JsonValue): Promise<KVPair> {
    return this.refuse(key);
  }
  update(key: string, _value: JsonValue, _revision: Revision): Promise<KVPair> {
    return this.refuse(key);
  }
  put(key: string, _value: JsonValue): Promise<KVPair> {
    return this.refuse(key);
  }
  delete(key: string, _revision?: Revision): Promise<KVPair> {
    return this.refuse(key);
  }
  txn(_ops: readonly TxnOp[]): Promise<TxnResult> {
    return this.refuse();
  }
}
