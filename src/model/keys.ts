// Datastore keys for resources (calico-internals §1.3; BRIEF "Decisions already taken").
//
// Calico kinds: `/calico/resources/v3/projectcalico.org/<plural>/[<ns>/]<name>`.
// Kubernetes kinds (Tabby's stand-in for the API server): `/tabby/k8s/<group-or-core>/<plural>/[<ns>/]<name>`.
// A namespaced kind needs a namespace and a cluster-scoped one must not get one, so a key always
// names exactly one object and `parseResourceKey(resourceKey(...))` gives the parts back.

import { KINDS, type KindInfo } from './kinds.js';

export class ResourceKeyError extends Error {
  override readonly name = 'ResourceKeyError';
  readonly code = 'InvalidKey';
  constructor(message: string) {
    super(message);
  }
}

/** A key segment may not be empty or contain "/" (it would change the key's shape). */
function checkSegment(what: string, value: string, kind: KindInfo): void {
  if (value === '' || value.includes('/')) {
    throw new ResourceKeyError(`${kind.kind} ${what} "${value}" cannot be used in a datastore key: it must be non-empty and contain no "/"`);
  }
}

export function resourceKey(kind: KindInfo, namespace: string | undefined, name: string): string {
  checkSegment('name', name, kind);
  if (kind.namespaced) {
    if (namespace === undefined || namespace === '') {
      throw new ResourceKeyError(`${kind.kind} is namespaced: a namespace is needed to build the key of "${name}"`);
    }
    checkSegment('namespace', namespace, kind);
    return `${kind.keyPrefix}${namespace}/${name}`;
  }
  if (namespace !== undefined && namespace !== '') {
    throw new ResourceKeyError(`${kind.kind} is cluster-scoped: "${name}" cannot have namespace "${namespace}"`);
  }
  return `${kind.keyPrefix}${name}`;
}

/** Prefix that lists every object of a kind, or (namespaced kinds) of one namespace. */
export function resourceListPrefix(kind: KindInfo, namespace?: string): string {
  if (namespace === undefined || namespace === '') return kind.keyPrefix;
  if (!kind.namespaced) throw new ResourceKeyError(`${kind.kind} is cluster-scoped: it cannot be listed by namespace "${namespace}"`);
  checkSegment('namespace', namespace, kind);
  return `${kind.keyPrefix}${namespace}/`;
}

export interface ParsedResourceKey {
  readonly kind: KindInfo;
  readonly namespace?: string;
  readonly name: string;
}

/** The kind, namespace and name a resource key names, or undefined if it is not a resource key. */
export function parseResourceKey(key: string): ParsedResourceKey | undefined {
  for (const kind of KINDS) {
    if (!key.startsWith(kind.keyPrefix)) continue;
    const parts = key.slice(kind.keyPrefix.length).split('/');
    if (kind.namespaced && parts.length === 2 && parts[0] !== '' && parts[1] !== '') {
      return { kind, namespace: parts[0]!, name: parts[1]! };
    }
    if (!kind.namespaced && parts.length === 1 && parts[0] !== '') return { kind, name: parts[0]! };
  }
  return undefined;
}
