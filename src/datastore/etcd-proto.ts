// etcd v3's protobuf messages as Tabby uses them: descriptor tables with the field numbers of
// etcd 3.4's etcdserverpb/rpc.proto and mvccpb/kv.proto, typed views, and encode/decode pairs.
// Pure. Only the fields Tabby reads or writes are described; the rest are skipped on decode.
//
// Names are camelCase renderings of the proto names (mod_revision → modRevision). Decoded
// messages carry every described scalar (zero when absent) and every repeated field (empty when
// absent); sub-messages and oneof members are undefined when absent.

import { FRAME_HEADER_BYTES, frame, frameInPlace } from './grpc-wire.js';
import { type BytesValue, type MessageSpec, decodeMessage, encodeMessage } from './protobuf.js';

export const CompareResult = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 } as const;
export const CompareTarget = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 } as const;
export const EventType = { PUT: 0, DELETE: 1 } as const;

export interface ResponseHeader {
  revision: number;
}

export interface KeyValue {
  key: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Uint8Array;
  lease: number;
}

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: number;
  revision?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface RangeResponse {
  header?: ResponseHeader;
  kvs: KeyValue[];
  more: boolean;
  count: number;
}

export interface PutRequest {
  key: Uint8Array;
  /** A string is sent as its UTF-8. */
  value: BytesValue;
  prevKv?: boolean;
}

export interface PutResponse {
  header?: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header?: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

/** One condition of a txn; exactly one of the target_union fields should be set. */
export interface Compare {
  result: number;
  target: number;
  key: Uint8Array;
  version?: number;
  createRevision?: number;
  modRevision?: number;
  value?: Uint8Array;
  rangeEnd?: Uint8Array;
}

/** oneof request: set exactly one. */
export interface RequestOp {
  requestRange?: RangeRequest;
  requestPut?: PutRequest;
  requestDeleteRange?: DeleteRangeRequest;
}

export interface ResponseOp {
  responseRange?: RangeResponse;
  responsePut?: PutResponse;
  responseDeleteRange?: DeleteRangeResponse;
}

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header?: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface WatchCreateRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  startRevision?: number;
  progressNotify?: boolean;
  prevKv?: boolean;
  fragment?: boolean;
}

/** oneof request_union: set exactly one. */
export interface WatchRequest {
  createRequest?: WatchCreateRequest;
  cancelRequest?: { watchId: number };
}

export interface Event {
  type: number;
  kv?: KeyValue;
  prevKv?: KeyValue;
}

export interface WatchResponse {
  header?: ResponseHeader;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  fragment: boolean;
  events: Event[];
}

export interface StatusResponse {
  header?: ResponseHeader;
  version: string;
  dbSize: number;
}

// ---- descriptors (field numbers from etcd 3.4's rpc.proto and kv.proto) ----------------------

// cluster_id = 1, member_id = 2 and raft_term = 4 are uint64s Tabby never reads (random 64-bit
// ids that would not fit a number), so they are left undescribed and skipped.
const ResponseHeaderSpec: MessageSpec = { name: 'ResponseHeader', fields: [{ no: 3, name: 'revision', type: 'int64' }] };

const KeyValueSpec: MessageSpec = {
  name: 'KeyValue',
  fields: [
    { no: 1, name: 'key', type: 'bytes' },
    { no: 2, name: 'createRevision', type: 'int64' },
    { no: 3, name: 'modRevision', type: 'int64' },
    { no: 4, name: 'version', type: 'int64' },
    { no: 5, name: 'value', type: 'bytes' },
    { no: 6, name: 'lease', type: 'int64' },
  ],
};

const RangeRequestSpec: MessageSpec = {
  name: 'RangeRequest',
  fields: [
    { no: 1, name: 'key', type: 'bytes' },
    { no: 2, name: 'rangeEnd', type: 'bytes' },
    { no: 3, name: 'limit', type: 'int64' },
    { no: 4, name: 'revision', type: 'int64' },
    { no: 7, name: 'serializable', type: 'bool' },
    { no: 8, name: 'keysOnly', type: 'bool' },
    { no: 9, name: 'countOnly', type: 'bool' },
  ],
};

const RangeResponseSpec: MessageSpec = {
  name: 'RangeResponse',
  fields: [
    { no: 1, name: 'header', type: ResponseHeaderSpec },
    { no: 2, name: 'kvs', type: KeyValueSpec, repeated: true },
    { no: 3, name: 'more', type: 'bool' },
    { no: 4, name: 'count', type: 'int64' },
  ],
};

const PutRequestSpec: MessageSpec = {
  name: 'PutRequest',
  fields: [
    { no: 1, name: 'key', type: 'bytes' },
    { no: 2, name: 'value', type: 'bytes' },
    { no: 4, name: 'prevKv', type: 'bool' },
  ],
};

const PutResponseSpec: MessageSpec = {
  name: 'PutResponse',
  fields: [
    { no: 1, name: 'header', type: ResponseHeaderSpec },
    { no: 2, name: 'prevKv', type: KeyValueSpec },
  ],
};

const DeleteRangeRequestSpec: MessageSpec = {
  name: 'DeleteRangeRequest',
  fields: [
    { no: 1, name: 'key', type: 'bytes' },
    { no: 2, name: 'rangeEnd', type: 'bytes' },
    { no: 3, name: 'prevKv', type: 'bool' },
  ],
};

const DeleteRangeResponseSpec: MessageSpec = {
  name: 'DeleteRangeResponse',
  fields: [
    { no: 1, name: 'header', type: ResponseHeaderSpec },
    { no: 2, name: 'deleted', type: 'int64' },
    { no: 3, name: 'prevKvs', type: KeyValueSpec, repeated: true },
  ],
};

const CompareSpec: MessageSpec = {
  name: 'Compare',
  fields: [
    { no: 1, name: 'result', type: 'enum' },
    { no: 2, name: 'target', type: 'enum' },
    { no: 3, name: 'key', type: 'bytes' },
    // oneof target_union
    { no: 4, name: 'version', type: 'int64', presence: true },
    { no: 5, name: 'createRevision', type: 'int64', presence: true },
    { no: 6, name: 'modRevision', type: 'int64', presence: true },
    { no: 7, name: 'value', type: 'bytes', presence: true },
    { no: 64, name: 'rangeEnd', type: 'bytes' },
  ],
};

// oneof request / response; request_txn = 4 and response_txn = 4 (nested txns) are not used.
const RequestOpSpec: MessageSpec = {
  name: 'RequestOp',
  fields: [
    { no: 1, name: 'requestRange', type: RangeRequestSpec },
    { no: 2, name: 'requestPut', type: PutRequestSpec },
    { no: 3, name: 'requestDeleteRange', type: DeleteRangeRequestSpec },
  ],
};

const ResponseOpSpec: MessageSpec = {
  name: 'ResponseOp',
  fields: [
    { no: 1, name: 'responseRange', type: RangeResponseSpec },
    { no: 2, name: 'responsePut', type: PutResponseSpec },
    { no: 3, name: 'responseDeleteRange', type: DeleteRangeResponseSpec },
  ],
};

const TxnRequestSpec: MessageSpec = {
  name: 'TxnRequest',
  fields: [
    { no: 1, name: 'compare', type: CompareSpec, repeated: true },
    { no: 2, name: 'success', type: RequestOpSpec, repeated: true },
    { no: 3, name: 'failure', type: RequestOpSpec, repeated: true },
  ],
};

const TxnResponseSpec: MessageSpec = {
  name: 'TxnResponse',
  fields: [
    { no: 1, name: 'header', type: ResponseHeaderSpec },
    { no: 2, name: 'succeeded', type: 'bool' },
    { no: 3, name: 'responses', type: ResponseOpSpec, repeated: true },
  ],
};

const WatchCreateRequestSpec: MessageSpec = {
  name: 'WatchCreateRequest',
  fields: [
    { no: 1, name: 'key', type: 'bytes' },
    { no: 2, name: 'rangeEnd', type: 'bytes' },
    { no: 3, name: 'startRevision', type: 'int64' },
    { no: 4, name: 'progressNotify', type: 'bool' },
    { no: 6, name: 'prevKv', type: 'bool' },
    { no: 8, name: 'fragment', type: 'bool' },
  ],
};

const WatchCancelRequestSpec: MessageSpec = { name: 'WatchCancelRequest', fields: [{ no: 1, name: 'watchId', type: 'int64', presence: true }] };

const WatchRequestSpec: MessageSpec = {
  name: 'WatchRequest',
  fields: [
    { no: 1, name: 'createRequest', type: WatchCreateRequestSpec },
    { no: 2, name: 'cancelRequest', type: WatchCancelRequestSpec },
  ],
};

const EventSpec: MessageSpec = {
  name: 'Event',
  fields: [
    { no: 1, name: 'type', type: 'enum' },
    { no: 2, name: 'kv', type: KeyValueSpec },
    { no: 3, name: 'prevKv', type: KeyValueSpec },
  ],
};

const WatchResponseSpec: MessageSpec = {
  name: 'WatchResponse',
  fields: [
    { no: 1, name: 'header', type: ResponseHeaderSpec },
    { no: 2, name: 'watchId', type: 'int64' },
    { no: 3, name: 'created', type: 'bool' },
    { no: 4, name: 'canceled', type: 'bool' },
    { no: 5, name: 'compactRevision', type: 'int64' },
    { no: 6, name: 'cancelReason', type: 'string' },
    { no: 7, name: 'fragment', type: 'bool' },
    { no: 11, name: 'events', type: EventSpec, repeated: true },
  ],
};

const StatusResponseSpec: MessageSpec = {
  name: 'StatusResponse',
  fields: [
    { no: 1, name: 'header', type: ResponseHeaderSpec },
    { no: 2, name: 'version', type: 'string' },
    { no: 3, name: 'dbSize', type: 'int64' },
  ],
};

// ---- typed encode/decode pairs ---------------------------------------------------------------

const codec = <T extends object>(spec: MessageSpec) => ({
  encode: (msg: T): Uint8Array => encodeMessage(spec, msg),
  /** The message as one gRPC frame, encoded in place behind its prefix. */
  frame: (msg: T): Uint8Array => frameInPlace(encodeMessage(spec, msg, FRAME_HEADER_BYTES)),
  decode: (bytes: Uint8Array): T => decodeMessage(spec, bytes) as T,
});

export const RangeRequestCodec = codec<RangeRequest>(RangeRequestSpec);
export const RangeResponseCodec = codec<RangeResponse>(RangeResponseSpec);
export const PutRequestCodec = codec<PutRequest>(PutRequestSpec);
export const PutResponseCodec = codec<PutResponse>(PutResponseSpec);
export const DeleteRangeRequestCodec = codec<DeleteRangeRequest>(DeleteRangeRequestSpec);
export const DeleteRangeResponseCodec = codec<DeleteRangeResponse>(DeleteRangeResponseSpec);
export const CompareCodec = codec<Compare>(CompareSpec);
export const TxnRequestCodec = codec<TxnRequest>(TxnRequestSpec);
export const TxnResponseCodec = codec<TxnResponse>(TxnResponseSpec);
export const WatchRequestCodec = codec<WatchRequest>(WatchRequestSpec);
export const WatchResponseCodec = codec<WatchResponse>(WatchResponseSpec);
export const KeyValueCodec = codec<KeyValue>(KeyValueSpec);
export const StatusResponseCodec = codec<StatusResponse>(StatusResponseSpec);
/** StatusRequest has no fields: its encoding is empty. */
export const STATUS_REQUEST = new Uint8Array(0);
export const STATUS_REQUEST_FRAME = frame(STATUS_REQUEST);

/** The gRPC method paths of etcd's services. */
export const EtcdMethod = {
  Range: '/etcdserverpb.KV/Range',
  Put: '/etcdserverpb.KV/Put',
  DeleteRange: '/etcdserverpb.KV/DeleteRange',
  Txn: '/etcdserverpb.KV/Txn',
  Watch: '/etcdserverpb.Watch/Watch',
  Status: '/etcdserverpb.Maintenance/Status',
} as const;
