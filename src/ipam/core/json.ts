// JSON helpers are generic now (util/json.ts); re-exported for IPAM's imports.
export { type JsonValue, isJsonObject } from '../../util/index.js';
