// Durations are a generic helper now (util/duration.ts); re-exported for IPAM's imports.
export { DurationParseError, parseDuration } from '../../util/index.js';
