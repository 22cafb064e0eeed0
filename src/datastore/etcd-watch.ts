// One watch on an etcd key prefix, on its own bidirectional Watch/Watch gRPC stream, kept alive
// across connection loss, etcd restarts and compaction.
//
// Invariants:
// - `delivered` is the revision up to which every change under the prefix has been handed to
//   the handler; a new stream always starts at delivered + 1, so nothing is lost or repeated.
//   etcd never splits one revision's events across responses, so a response's last event
//   revision is a safe resume point; a progress notification (sent only to a caught-up watcher)
//   moves it to the header revision, which keeps idle watches clear of compaction. (Tabby does
//   not ask for fragments; should etcd split a revision anyway, fragments are joined first.)
// - If etcd reports that delivered + 1 was compacted, the watch relists the prefix, hands the
//   snapshot to onResync, and continues from the snapshot's revision.
// - Transient trouble goes to onError, followed by a retry after an exponential back-off with
//   jitter (reset once a stream is established). Only close() ends the watch.

import { type BackoffOptions, Sleeper, backoffDelay } from './backoff.js';
import type { ListResult, Revision, WatchHandle, WatchHandler } from './datastore.js';
import { decodeWatchEvents, prefixRange } from './etcd-codec.js';
import { EtcdMethod, type Event, WatchRequestCodec, WatchResponseCodec } from './etcd-proto.js';
import type { EtcdTransport, StreamHandle } from './etcd-transport.js';

export class EtcdWatch implements WatchHandle {
  private delivered: Revision;
  private closed = false;
  private current: StreamHandle | undefined;
  private readonly sleeper = new Sleeper();
  private readonly finished: Promise<void>;

  constructor(
    private readonly transport: EtcdTransport,
    private readonly prefix: string,
    fromRevision: Revision,
    private readonly handler: WatchHandler,
    private readonly relist: (prefix: string) => Promise<ListResult>,
    private readonly backoff: BackoffOptions = {},
  ) {
    this.delivered = fromRevision;
    this.finished = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.current?.abort();
    this.sleeper.wakeAll();
    await this.finished;
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let needRelist = false;
    while (!this.closed) {
      try {
        if (needRelist) {
          const snapshot = await this.relist(this.prefix);
          if (this.closed) return;
          this.delivered = snapshot.revision;
          needRelist = false;
          this.handler.onResync(snapshot);
          continue;
        }
        const outcome = await this.streamOnce(() => (attempt = 0));
        if (outcome === 'compacted') {
          needRelist = true;
          continue;
        }
      } catch (err) {
        if (this.closed) return;
        this.handler.onError?.(err instanceof Error ? err : new Error(String(err)));
      }
      if (this.closed) return;
      await this.sleeper.sleep(backoffDelay(attempt++, this.backoff));
    }
  }

  /** Run one stream until it fails (throws), is closed, or etcd says we were compacted. */
  private async streamOnce(onEstablished: () => void): Promise<'closed' | 'compacted'> {
    let compacted = false;
    let cancelReason: string | undefined;
    const range = prefixRange(this.prefix);
    const request = WatchRequestCodec.encode({
      createRequest: { ...range, startRevision: this.delivered + 1, prevKv: true, progressNotify: true },
    });
    let fragments: Event[] = [];
    const stream = this.transport.stream(EtcdMethod.Watch, request, (bytes) => {
      if (this.closed || compacted || cancelReason !== undefined) return;
      const result = WatchResponseCodec.decode(bytes);
      if (result.canceled) {
        if (result.compactRevision > 0) compacted = true;
        else cancelReason = result.cancelReason || 'no reason given';
        stream.abort();
        return;
      }
      if (result.created) {
        onEstablished();
        return;
      }
      if (result.fragment) {
        fragments = fragments.concat(result.events);
        return;
      }
      const events = decodeWatchEvents(fragments.length > 0 ? fragments.concat(result.events) : result.events);
      fragments = [];
      if (events.length === 0) {
        // A progress notification: everything up to the header revision has been sent.
        this.delivered = Math.max(this.delivered, result.header?.revision ?? 0);
        return;
      }
      const last = events[events.length - 1]!;
      const revision = last.type === 'put' ? last.kv.revision : last.revision;
      this.delivered = revision;
      this.handler.onEvents(events, revision);
    });
    this.current = stream;
    try {
      await stream.done;
    } finally {
      this.current = undefined;
    }
    if (this.closed) return 'closed';
    if (compacted) return 'compacted';
    if (cancelReason !== undefined) throw new Error(`etcd canceled the watch on ${this.prefix}: ${cancelReason}`);
    return 'closed';
  }
}
