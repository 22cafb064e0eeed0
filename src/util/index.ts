// Generic helpers with no domain in them, pure: durations as Calico writes them, a seeded PRNG,
// a per-key mutex. The structured logger (log.ts) and the socket bridge (join-sockets.ts) are
// the folder's two I/O files, imported by path and not re-exported here, so pure code that
// imports this index stays pure.
export { DurationParseError, parseDuration } from './duration.js';
export { KeyedMutex } from './keyed-mutex.js';
export * from './random.js';
export { type JsonValue, isJsonObject } from './json.js';
