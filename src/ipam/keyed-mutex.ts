// The keyed mutex is a generic helper now (util/keyed-mutex.ts); re-exported for IPAM's imports.
export { KeyedMutex } from '../util/index.js';
