// `tabby lab apply` / `delete`: resources into the lab's datastore, pods onto its nodes.
//
// Apply order: everything is read and checked first (nothing is written from a file with a bad
// document), then namespaces, then other resources, then pods: scheduled, stored with their
// nodeName bound, wired through CNI on their node, and given their status. A pod the lab already
// runs keeps its sandbox (its labels and annotations are updated in the datastore); moving it
// to another node or changing its ports needs a delete first, as in Kubernetes. Pods start in
// parallel; one pod's failure does not undo the others, and is reported with the rest.
// `--prune KIND` (kubectl apply --prune's idea, by kind): after the apply, every stored resource
// of those kinds that the file does not name is deleted, so one apply switches a scenario.

import { type LabCluster, openCluster } from './cluster.js';
import { LabError } from './errors.js';
import { runPod, stopPod } from './kubelet.js';
import { type KindInfo, UnknownKindError, kindInfo } from '../model/index.js';
import { randomInt, randomUUID } from 'node:crypto';
import { validateResource } from '../model/index.js';
import { SUFFIX_ALPHABET, type Workload, ownerOf, parseWorkload, planWorkloadPods } from './controllers.js';
import {
  type LabFile,
  type ManifestDocument,
  type ResourceRef,
  type WorkloadDocument,
  type WorkloadRef,
  isNamespace,
  isNamespaceRef,
  isPod,
  isPodRef,
  isWorkloadRef,
  readLabFile,
  readRefs,
  whereOf,
} from './manifest.js';
import { type PodWorkload, podId, podWorkload, schedulePods } from './pods.js';
import { type LabState, type PodRecord, lockLab, readState } from './state.js';
import { stateDirOf } from './plan.js';

export type Report = (line: string) => void;

export interface LabSession {
  readonly state: LabState;
  readonly cluster: LabCluster;
  close(): Promise<void>;
}

/** Opens a lab that is up: its state (under the lab's lock) and its datastore. */
export async function openLab(name: string, what: string): Promise<LabSession> {
  const stateDir = stateDirOf(name);
  const missing = () => new LabError('LabNotFound', `there is no lab named ${name} (no ${stateDir}/state.json); start one with \`tabby lab up\``);
  if (readState(stateDir) === undefined) throw missing();
  const release = await lockLab(stateDir, what);
  try {
    const fresh = readState(stateDir); // again, under the lock: a `down` may have come first
    if (fresh === undefined) throw missing();
    if (fresh.phase !== 'up') throw new LabError('LabNotFound', `lab ${name} is not up (phase ${fresh.phase}); \`tabby lab down --name ${name}\` removes what is left`);
    const cluster = await openCluster(fresh.plan);
    return {
      state: fresh,
      cluster,
      close: async () => {
        await cluster.close();
        release();
      },
    };
  } catch (e) {
    release();
    throw e;
  }
}

const sameSandbox = (a: PodRecord, w: PodWorkload, node: string) => a.node === node && JSON.stringify(a.ports) === JSON.stringify(w.ports);

async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}

/** Checks, before a lab starts, that the file's pods can be scheduled onto `nodes`. */
export function checkPodsFit(docs: readonly ManifestDocument[], nodes: readonly string[]): void {
  schedulePods(docs.filter(isPod).map((d) => podWorkload(d.resource, whereOf(d))), nodes, new Map());
}

const suffix = (): string => Array.from({ length: 5 }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join('');

/**
 * The workloads of a file, reconciled: their pods become Pod documents to apply, and the pods
 * they no longer want (scaled down, older template) are stopped. The workloads are remembered in
 * the lab's state so a later apply scales them and a delete takes their pods.
 */
async function reconcileWorkloads(session: LabSession, workloads: readonly WorkloadDocument[], report: Report): Promise<ManifestDocument[]> {
  const { state, cluster } = session;
  const nodes = state.plan.nodes.map((n) => n.name);
  const pods: ManifestDocument[] = [];
  for (const d of workloads) {
    const kindName = String((d.raw as { kind?: unknown }).kind);
    const meta = (d.raw as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
    const known = (state.workloads ?? []).find((w) => w.kind === kindName && w.name === meta?.name && w.namespace === (meta?.namespace ?? 'default'));
    const w = parseWorkload(d.raw, d.where, known?.uid ?? randomUUID());
    const owned = state.pods.filter((p) => p.namespace === w.namespace && p.owner === ownerOf(w));
    const plan = planWorkloadPods(w, owned, nodes, suffix);
    for (const name of plan.remove) {
      const record = owned.find((p) => p.name === name)!;
      await stopPod(state, record);
      await cluster.remove(kindInfo('Pod', 'v1'), record.namespace, record.name);
      report(`pod/${w.namespace}/${name} deleted (${ownerOf(w)})`);
    }
    state.workloads = [...(state.workloads ?? []).filter((x) => x !== known), w];
    report(`${w.kind.toLowerCase()}/${w.namespace}/${w.name} applied: ${w.replicas} replica(s), ${plan.create.length} pod(s) to create, ${plan.remove.length} deleted`);
    for (const [i, pod] of plan.create.entries()) {
      pods.push({ source: d.where, index: 0, line: 0, item: i + 1, resource: validateResource(pod, { source: d.where }) });
    }
  }
  return pods;
}

/** Applies the documents of one file to an open lab. */
export async function applyDocuments(session: LabSession, probeBin: string, file: LabFile | readonly ManifestDocument[], report: Report): Promise<void> {
  const { state, cluster } = session;
  const given = 'documents' in file ? file : { documents: file, workloads: [] };
  const docs = [...given.documents, ...(await reconcileWorkloads(session, given.workloads, report))];
  const pods = docs.filter(isPod);
  const workloads = pods.map((d) => podWorkload(d.resource, whereOf(d)));
  const nodes = state.plan.nodes.map((n) => n.name);
  const perNode = new Map<string, number>();
  for (const p of state.pods) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
  const fresh = workloads.filter((w) => !state.pods.some((p) => podId(p) === podId(w)));
  const placed = new Map(schedulePods(fresh, nodes, perNode).map((node, i) => [podId(fresh[i]!), node]));
  for (const w of workloads) {
    const running = state.pods.find((p) => podId(p) === podId(w));
    if (running !== undefined && !sameSandbox(running, w, w.nodeName ?? running.node)) {
      throw new LabError('InvalidResource', `Pod ${podId(w)} already runs on ${running.node} with other ports or node; pod specs are immutable: delete it first`);
    }
  }

  const fileNamespaces = new Set(docs.filter(isNamespace).map((d) => d.resource.metadata.name));
  for (const w of workloads) {
    if (!fileNamespaces.has(w.namespace) && !(await cluster.namespaceExists(w.namespace))) {
      throw new LabError('InvalidResource', `Pod ${podId(w)}: namespace ${w.namespace} does not exist; apply a v1 Namespace named ${w.namespace} first (or in the same file)`);
    }
  }

  // Namespaces first, so that everything namespaced in the same file finds its namespace.
  for (const d of [...docs.filter(isNamespace), ...docs.filter((d) => !isPod(d) && !isNamespace(d))]) {
    await cluster.apply(d.resource);
    const ns = d.resource.metadata.namespace;
    report(`${d.resource.kind.toLowerCase()}/${ns === undefined ? '' : `${ns}/`}${d.resource.metadata.name} applied`);
  }

  const failures: string[] = [];
  await inParallel(workloads, 4, async (w) => {
    const doc = pods[workloads.indexOf(w)]!;
    const running = state.pods.find((p) => podId(p) === podId(w));
    if (running !== undefined) {
      await cluster.bindPod(doc.resource, running.node);
      await cluster.setPodStatus(w.namespace, w.name, { hostIP: state.plan.nodes.find((n) => n.name === running.node)!.address4, podIPs: running.ips });
      report(`pod/${podId(w)} configured (running on ${running.node}: ${running.ips.join(', ')})`);
      return;
    }
    const nodeName = placed.get(podId(w))!;
    const node = state.plan.nodes.find((n) => n.name === nodeName)!;
    try {
      const uid = await cluster.bindPod(doc.resource, nodeName);
      const record = await runPod(state, probeBin, node, w, uid);
      await cluster.setPodStatus(w.namespace, w.name, { hostIP: node.address4, podIPs: record.ips });
      report(`pod/${podId(w)} created on ${nodeName}: ${record.ips.join(', ') || 'no addresses'}`);
    } catch (e) {
      failures.push(`pod/${podId(w)} on ${nodeName}: ${(e as Error).message}`);
    }
  });
  if (failures.length > 0) throw new LabError('CniFailed', `${failures.length} pod(s) could not be started:\n  ${failures.join('\n  ')}`);
}

/** Deletes the named resources from an open lab; a Namespace takes its pods with it. */
export async function deleteResources(session: LabSession, all: readonly (ResourceRef | WorkloadRef)[], report: Report): Promise<void> {
  const { state, cluster } = session;
  // A workload goes with its pods (Kubernetes' garbage collector, done at once).
  for (const r of all.filter(isWorkloadRef)) {
    const known = (state.workloads ?? []).find((w) => w.kind === r.workload && w.name === r.name && w.namespace === r.namespace);
    const owner = `${r.workload}/${r.name}`;
    const owned = state.pods.filter((p) => p.namespace === r.namespace && p.owner === owner);
    await inParallel(owned, 4, async (p) => {
      await stopPod(state, p);
      await cluster.remove(kindInfo('Pod', 'v1'), p.namespace, p.name);
      report(`pod/${podId(p)} deleted from ${p.node}`);
    });
    state.workloads = (state.workloads ?? []).filter((w) => w !== known);
    report(`${r.workload.toLowerCase()}/${r.namespace}/${r.name} ${known === undefined ? 'not found' : 'deleted'}`);
  }
  const refs = all.filter((r): r is ResourceRef => !isWorkloadRef(r));
  const id = (r: ResourceRef) => `${r.namespace === undefined ? '' : `${r.namespace}/`}${r.name}`;
  const namespaces = new Set(refs.filter(isNamespaceRef).map((r) => r.name));
  const targets = new Set(refs.filter(isPodRef).map(id));
  const doomed = state.pods.filter((p) => targets.has(podId(p)) || namespaces.has(p.namespace));
  await inParallel(doomed, 4, async (p) => {
    await stopPod(state, p);
    await cluster.remove(kindInfo('Pod', 'v1'), p.namespace, p.name);
    report(`pod/${podId(p)} deleted from ${p.node}`);
  });
  // Everything else, pods the lab was not running, and namespaces last (as Kubernetes finalises them).
  for (const r of [...refs.filter((r) => !isNamespaceRef(r)), ...refs.filter(isNamespaceRef)]) {
    if (isPodRef(r) && doomed.some((p) => podId(p) === id(r))) continue;
    const existed = await cluster.remove(r.kind, r.namespace, r.name);
    report(`${r.kind.kind.toLowerCase()}/${id(r)} ${existed ? 'deleted' : 'not found'}`);
  }
}

/**
 * The kinds `--prune` names ("NetworkPolicy" or "networking.k8s.io/v1/NetworkPolicy", comma
 * separated). Pods, Namespaces and workloads are refused: they take sandboxes and pods with them.
 */
export function parsePruneKinds(text: string): KindInfo[] {
  return text.split(',').map((item) => {
    const t = item.trim();
    const slash = t.lastIndexOf('/');
    let k: KindInfo;
    try {
      k = slash < 0 ? kindInfo(t) : kindInfo(t.slice(slash + 1), t.slice(0, slash));
    } catch (e) {
      if (e instanceof UnknownKindError) throw new LabError('InvalidArgument', `--prune ${text}: "${t}" is not a kind the lab stores (${e.message})`);
      throw e;
    }
    if (k.kind === 'Pod' || k.kind === 'Namespace') throw new LabError('InvalidArgument', `--prune ${text}: ${k.kind}s are not pruned (they take pods down); delete them with \`tabby lab delete\``);
    return k;
  });
}

/** Deletes every stored resource of `kinds` that `docs` does not name. */
async function prune(session: LabSession, docs: readonly ManifestDocument[], kinds: readonly KindInfo[], report: Report): Promise<void> {
  for (const k of kinds) {
    const keep = new Set(docs.filter((d) => d.resource.kind === k.kind && d.resource.apiVersion === k.apiVersion).map((d) => `${d.resource.metadata.namespace ?? (k.namespaced ? 'default' : '')}/${d.resource.metadata.name}`));
    const { items } = await session.cluster.client.list(k, { allNamespaces: true });
    for (const r of items) {
      const ns = r.metadata.namespace ?? '';
      if (keep.has(`${ns}/${r.metadata.name}`)) continue;
      await session.cluster.remove(k, r.metadata.namespace, r.metadata.name ?? '');
      report(`${k.kind.toLowerCase()}/${ns === '' ? '' : `${ns}/`}${r.metadata.name} pruned`);
    }
  }
}

export async function labApply(name: string, probeBin: string, file: string, report: Report, opts: { prune?: readonly KindInfo[] } = {}): Promise<void> {
  const docs = readLabFile(file);
  const session = await openLab(name, `apply -f ${file}`);
  try {
    await applyDocuments(session, probeBin, docs, report);
    if (opts.prune !== undefined) await prune(session, docs.documents, opts.prune, report);
  } finally {
    await session.close();
  }
}

export async function labDelete(name: string, file: string, report: Report): Promise<void> {
  const refs = readRefs(file);
  const session = await openLab(name, `delete -f ${file}`);
  try {
    await deleteResources(session, refs, report);
  } finally {
    await session.close();
  }
}
