// The resource shape every kind shares. Per-kind types are derived from their schemas
// (resources/*.ts) and re-exported from index.ts.

import type { ObjectMeta } from './meta.js';

export type { ObjectMeta };

export interface ResourceObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
}
