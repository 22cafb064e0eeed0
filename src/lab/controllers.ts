// The lab's workload controllers: apps/v1 Deployment, ReplicaSet, StatefulSet, DaemonSet and
// batch/v1 Job turned into the Pods Kubernetes' controllers would make, as a tutorial shows them
// in `kubectl get pods -o wide`.
//
// Names as Kubernetes forms them: a Deployment's pods `<deploy>-<pod-template-hash>-<5>`, a
// ReplicaSet's, DaemonSet's and Job's `<name>-<5>` (5 characters of Kubernetes' alphabet without
// vowels), a StatefulSet's `<sts>-0, -1, …`. Labels and annotations come from the pod template (a
// Deployment's pods also get `pod-template-hash`, a StatefulSet's `statefulset.kubernetes.io/pod-name`),
// and each pod names its controller in ownerReferences. `replicas` is honoured and re-applying
// scales: a Deployment replaces pods of an older template; a StatefulSet adds and removes the
// highest ordinals; a DaemonSet keeps one pod per node; a Job runs its pod once.
// Pure: the random suffixes and uids are injected.

import { LabError } from './errors.js';

export const WORKLOAD_KINDS: Readonly<Record<string, readonly string[]>> = {
  'apps/v1': ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'],
  'batch/v1': ['Job'],
};

export const isWorkloadDocument = (v: unknown): boolean => {
  const o = v as { apiVersion?: unknown; kind?: unknown } | null;
  return typeof o?.apiVersion === 'string' && typeof o.kind === 'string' && (WORKLOAD_KINDS[o.apiVersion] ?? []).includes(o.kind);
};

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A workload as the lab keeps it (also in its state, to scale and delete it later). */
export interface Workload {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly replicas: number;
  /** spec.template: metadata (labels, annotations) and the pod spec. */
  readonly template: { readonly metadata: { readonly labels: Record<string, string>; readonly annotations: Record<string, string> }; readonly spec: Obj };
}

/** "Deployment/web": how a pod's owner is shown. */
export const ownerOf = (w: { kind: string; name: string }): string => `${w.kind}/${w.name}`;

/** Reads a workload document; `uid` is kept from an earlier apply of the same workload. */
export function parseWorkload(raw: unknown, where: string, uid: string): Workload {
  const bad = (what: string) => new LabError('InvalidResource', `${where}: ${what}`);
  if (!isObj(raw) || !isObj(raw.metadata)) throw bad('metadata is required');
  const kind = String(raw.kind);
  const name = raw.metadata.name;
  if (typeof name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 52) {
    throw bad(`metadata.name ${JSON.stringify(name)} must be a DNS name of at most 52 characters (its pods add a suffix)`);
  }
  const namespace = typeof raw.metadata.namespace === 'string' && raw.metadata.namespace !== '' ? raw.metadata.namespace : 'default';
  const spec = isObj(raw.spec) ? raw.spec : {};
  const template = isObj(spec.template) ? spec.template : undefined;
  if (template === undefined || !isObj(template.spec) || !Array.isArray(template.spec.containers)) throw bad('spec.template.spec.containers is required');
  const meta = isObj(template.metadata) ? template.metadata : {};
  const labels = (isObj(meta.labels) ? meta.labels : {}) as Record<string, string>;
  const annotations = (isObj(meta.annotations) ? meta.annotations : {}) as Record<string, string>;
  if (raw.apiVersion === 'apps/v1') {
    // apps/v1 requires a selector, and it must select the template's labels.
    const selector = isObj(spec.selector) && isObj(spec.selector.matchLabels) ? (spec.selector.matchLabels as Record<string, string>) : undefined;
    if (selector === undefined) throw bad('spec.selector.matchLabels is required for apps/v1 workloads');
    const missing = Object.entries(selector).find(([k, v]) => labels[k] !== v);
    if (missing !== undefined) throw bad(`spec.selector does not match the template's labels: ${missing[0]}=${missing[1]} is not in spec.template.metadata.labels`);
  }
  const replicas = kind === 'DaemonSet' || kind === 'Job' ? 1 : spec.replicas === undefined ? 1 : spec.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0 || replicas > 100) throw bad(`spec.replicas must be a whole number from 0 to 100, got ${JSON.stringify(spec.replicas)}`);
  return { apiVersion: String(raw.apiVersion), kind, namespace, name, uid, replicas, template: { metadata: { labels, annotations }, spec: template.spec } };
}

/** Kubernetes' alphabet for generated name suffixes (no vowels, no look-alikes). */
export const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The pod-template-hash: FNV-1a of the template, spelled in SUFFIX_ALPHABET (as a Deployment's ReplicaSet name). */
export function templateHash(template: Workload['template']): string {
  const fnv = (text: string): bigint => {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
    return BigInt(h);
  };
  const text = JSON.stringify(template);
  let n = (fnv(text) << 32n) | fnv(`${text}#`);
  let out = '';
  for (let i = 0; i < 10; i++) {
    out += SUFFIX_ALPHABET[Number(n % 27n)];
    n /= 27n;
  }
  return out;
}

/** A pod the lab runs, as far as a controller needs to know. */
export interface OwnedPod {
  readonly name: string;
  readonly node: string;
}

export interface PodPlan {
  /** v1 Pod objects to create. */
  readonly create: Obj[];
  /** Names of pods to delete. */
  readonly remove: string[];
}

/** What to create and delete so that `existing` (the workload's pods) becomes what `w` asks for. */
export function planWorkloadPods(w: Workload, existing: readonly OwnedPod[], nodes: readonly string[], suffix: () => string): PodPlan {
  const create: Obj[] = [];
  const remove: string[] = [];
  const taken = new Set(existing.map((p) => p.name));
  const fresh = (prefix: string): string => {
    for (;;) {
      const name = `${prefix}-${suffix()}`;
      if (!taken.has(name)) {
        taken.add(name);
        return name;
      }
    }
  };
  const pod = (name: string, extraLabels: Record<string, string>, nodeName?: string): Obj => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: w.namespace,
      labels: { ...w.template.metadata.labels, ...extraLabels },
      ...(Object.keys(w.template.metadata.annotations).length > 0 ? { annotations: w.template.metadata.annotations } : {}),
      ownerReferences: [{ apiVersion: w.apiVersion, kind: w.kind, name: w.name, uid: w.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...w.template.spec, ...(nodeName === undefined ? {} : { nodeName }) },
  });
  switch (w.kind) {
    case 'Deployment':
    case 'ReplicaSet': {
      const hash = w.kind === 'Deployment' ? templateHash(w.template) : undefined;
      const prefix = hash === undefined ? w.name : `${w.name}-${hash}`;
      // Pods of an older template go (a rolling update, done at once); then scale to replicas.
      const current = existing.filter((p) => hash === undefined || p.name.startsWith(`${prefix}-`)).map((p) => p.name).sort();
      remove.push(...existing.map((p) => p.name).filter((n) => !current.includes(n)));
      remove.push(...current.slice(w.replicas));
      for (let i = current.length; i < w.replicas; i++) create.push(pod(fresh(prefix), hash === undefined ? {} : { 'pod-template-hash': hash }));
      break;
    }
    case 'StatefulSet': {
      const wanted = Array.from({ length: w.replicas }, (_, i) => `${w.name}-${i}`);
      remove.push(...existing.map((p) => p.name).filter((n) => !wanted.includes(n)));
      for (const name of wanted) if (!existing.some((p) => p.name === name)) create.push(pod(name, { 'statefulset.kubernetes.io/pod-name': name }));
      break;
    }
    case 'DaemonSet': {
      remove.push(...existing.filter((p) => !nodes.includes(p.node)).map((p) => p.name));
      for (const node of nodes) if (!existing.some((p) => p.node === node)) create.push(pod(fresh(w.name), {}, node));
      break;
    }
    case 'Job':
      // Run once: a Job whose pod exists (or existed) makes no other.
      if (existing.length === 0) create.push(pod(fresh(w.name), { 'job-name': w.name }));
      break;
  }
  return { create, remove };
}
