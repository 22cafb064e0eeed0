// What `tabbyctl node status` reads on this host: the running `tabby node` (its readiness endpoint,
// which carries each child's state and the route reconciler's status) and, when one runs, the BGP
// daemon (its status socket). calicoctl node status reads BIRD's socket the same way: it is a
// question for this host, not for the datastore.

import type { ReconcilerStatus } from '../dataplane/index.js';
import type { PolicyStatus } from './policy.js';

export interface ChildState {
  readonly name: string;
  readonly pid?: number;
  readonly state: string;
  readonly ready: boolean;
  readonly restarts: number;
  readonly reason?: string;
  readonly detail?: { readonly routes?: RouteStatus; readonly policy?: PolicyStatus };
}

/** The route reconciler's report, as the agent serves it under its child's `detail.routes`. */
export type RouteStatus = ReconcilerStatus;
export type { PolicyStatus };

export interface NodeStatus {
  readonly ready: boolean;
  readonly children: readonly ChildState[];
}

export class NodeNotRunningError extends Error {
  override readonly name = 'NodeNotRunningError';
  readonly code = 'Unavailable';
}

/** The node's readiness report from its health endpoint (e.g. http://127.0.0.1:9099). */
export async function fetchNodeStatus(healthUrl: string, timeoutMs = 3000): Promise<NodeStatus> {
  let res: Response;
  try {
    res = await fetch(new URL('/readiness', healthUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new NodeNotRunningError(`Tabby node is not running on this host: nothing answers on ${healthUrl} (${(e as Error).message}); start it with \`tabby node\``, { cause: e });
  }
  const body = (await res.json()) as { ok?: boolean; children?: ChildState[] };
  return { ready: body.ok === true, children: body.children ?? [] };
}
