// Best-path selection: RFC 4271 §9.1.2.2 with the RFC 4456 §9 tie-breaks, as one comparison.
// Steps, first difference wins:
//   0. a locally originated route beats a learned one (it is configuration, like BIRD's static);
//   1. highest LOCAL_PREF (absent = 100);
//   2. shortest AS_PATH (an AS_SET counts one, confederation segments nothing);
//   3. lowest ORIGIN (IGP < EGP < INCOMPLETE);
//   4. lowest MED, compared only between routes from the same neighbouring AS (absent = 0);
//   5. eBGP-learned over iBGP-learned;
//   (IGP cost to the next hop is skipped: the speaker runs no IGP, all next hops cost the same)
//   6. lowest BGP Identifier, ORIGINATOR_ID standing in for it when present;
//   7. shortest CLUSTER_LIST;
//   8. lowest peer address.
// Step 4 makes the order depend on which routes are compared, as in every BGP implementation
// that follows the RFC; selection scans the candidates in arrival order, so it is deterministic.

import type { AttrSet } from './attrs.js';

const KIND_RANK = { local: 0, ebgp: 1, ibgp: 2 } as const;

/** Negative when `a` is better, positive when `b` is, 0 when they tie completely. */
export function comparePaths(a: AttrSet, b: AttrSet): number {
  const ka = KIND_RANK[a.source.kind];
  const kb = KIND_RANK[b.source.kind];
  if ((ka === 0) !== (kb === 0)) return ka === 0 ? -1 : 1;
  if (a.localPref !== b.localPref) return b.localPref - a.localPref;
  if (a.asPathLength !== b.asPathLength) return a.asPathLength - b.asPathLength;
  if (a.originRank !== b.originRank) return a.originRank - b.originRank;
  if (a.neighborAs === b.neighborAs && a.med !== b.med) return a.med - b.med;
  if (ka !== kb) return ka - kb;
  if (a.decisionId !== b.decisionId) return a.decisionId < b.decisionId ? -1 : 1;
  if (a.clusterListLength !== b.clusterListLength) return a.clusterListLength - b.clusterListLength;
  const pa = a.source.address?.value ?? 0n;
  const pb = b.source.address?.value ?? 0n;
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}
