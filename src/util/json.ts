// JSON values as the Datastore stores them, and the object test every decoder needs. Structurally
// the same type as the datastore's JsonValue; declared here so pure code imports nothing from I/O.
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const isJsonObject = (v: unknown): v is { [key: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);
