// JSON values as the Datastore stores them. Structurally the same type as the datastore's
// JsonValue; declared here so the pure IPAM core imports nothing from the I/O layer.
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const isJsonObject = (v: unknown): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);
