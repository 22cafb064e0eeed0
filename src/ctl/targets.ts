// Which resources a command line names, in kubectl's and calicoctl's forms:
//   KIND                      every resource of a kind            get ippools
//   KIND NAME...              those resources                      get ippool a b
//   KIND,KIND                 every resource of several kinds      get ippool,gnp
//   KIND/NAME...              as `-o name` prints them             get ippool/a gnp/b
// Kinds may be any alias the model knows (ippool, ipp, gnp, networkpolicy.networking.k8s.io, …).

import { type KindInfo, kindInfo } from '../model/index.js';
import { UsageError } from './output.js';

export interface Target {
  readonly kind: KindInfo;
  /** Names asked for; empty means every resource of the kind. */
  readonly names: string[];
}

export function parseTargets(args: readonly string[], verb: string): Target[] {
  if (args.length === 0) throw new UsageError(`name a resource kind: tabbyctl ${verb} KIND [NAME...], KIND/NAME... or KIND,KIND`);
  if (args[0]!.includes('/')) {
    const byKind = new Map<KindInfo, string[]>();
    for (const a of args) {
      const slash = a.indexOf('/');
      if (slash <= 0 || slash === a.length - 1) throw new UsageError(`"${a}": give every resource as KIND/NAME when the first one is (e.g. ippool/pool-a)`);
      const kind = kindInfo(a.slice(0, slash));
      byKind.set(kind, [...(byKind.get(kind) ?? []), a.slice(slash + 1)]);
    }
    return [...byKind].map(([kind, names]) => ({ kind, names }));
  }
  const kinds = args[0]!.split(',').filter((k) => k !== '');
  if (kinds.length > 1) {
    if (args.length > 1) throw new UsageError(`names cannot follow a list of kinds ("${args[0]}"); use KIND/NAME for each resource`);
    return kinds.map((k) => ({ kind: kindInfo(k), names: [] }));
  }
  return [{ kind: kindInfo(kinds[0] ?? args[0]!), names: args.slice(1) }];
}
