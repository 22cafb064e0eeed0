// What the lab's kubelet and scheduler need from a v1 Pod, and where a pod runs.
//
// Pure. `podWorkload` reads the fields the lab acts on (name, namespace, nodeName, container
// ports) from a Pod object, with errors that name the pod and the field. `schedulePods` places a
// batch of pods the way a simple scheduler would: `spec.nodeName` when given (it must name a lab
// node), else the node with the fewest pods, ties going to the earlier node, so equal nodes fill
// round-robin.

import { LabError } from './errors.js';
import type { PodPort } from './state.js';

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

export interface PodWorkload {
  readonly namespace: string;
  readonly name: string;
  readonly nodeName?: string;
  readonly ports: PodPort[];
  /** The controlling workload ("Deployment/web") named by metadata.ownerReferences. */
  readonly owner?: string;
}

export const podId = (p: { readonly namespace: string; readonly name: string }): string => `${p.namespace}/${p.name}`;

/** The lab-relevant parts of a Pod object (metadata.namespace defaults to "default"). */
export function podWorkload(pod: unknown, where = 'Pod'): PodWorkload {
  const bad = (field: string, rule: string) => new LabError('InvalidResource', `${where}: ${field} ${rule}`);
  if (!isObj(pod) || !isObj(pod.metadata)) throw bad('metadata', 'is required');
  const name = pod.metadata.name;
  if (typeof name !== 'string' || name === '') throw bad('metadata.name', 'is required');
  const namespace = typeof pod.metadata.namespace === 'string' && pod.metadata.namespace !== '' ? pod.metadata.namespace : 'default';
  const at = `${where} ${namespace}/${name}`;
  const spec = isObj(pod.spec) ? pod.spec : {};
  const ports: PodPort[] = [];
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  containers.forEach((c, ci) => {
    const list = isObj(c) && Array.isArray(c.ports) ? c.ports : [];
    list.forEach((p, pi) => {
      const field = `spec.containers[${ci}].ports[${pi}]`;
      if (!isObj(p)) throw new LabError('InvalidResource', `${at}: ${field} must be an object with containerPort`);
      const port = p.containerPort;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
        throw new LabError('InvalidResource', `${at}: ${field}.containerPort must be a port number from 1 to 65535, got ${JSON.stringify(port)}`);
      }
      const protocol = p.protocol === undefined ? 'TCP' : p.protocol;
      if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') {
        throw new LabError('InvalidResource', `${at}: ${field}.protocol must be TCP, UDP or SCTP, got ${JSON.stringify(protocol)}`);
      }
      ports.push({ port, protocol, ...(typeof p.name === 'string' ? { name: p.name } : {}) });
    });
  });
  const nodeName = typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
  const refs = Array.isArray(pod.metadata.ownerReferences) ? pod.metadata.ownerReferences : [];
  const controller = refs.find((r) => isObj(r) && r.controller === true) as { kind: string; name: string } | undefined;
  const owner = controller === undefined ? undefined : `${controller.kind}/${controller.name}`;
  return { namespace, name, ports, ...(nodeName === undefined ? {} : { nodeName }), ...(owner === undefined ? {} : { owner }) };
}

/**
 * Chooses a node for each pod, in order. `podsPerNode` holds the pods already running per node and
 * is not modified. Throws if a pod names a node the lab does not have.
 */
export function schedulePods(
  pods: readonly PodWorkload[],
  nodes: readonly string[],
  podsPerNode: ReadonlyMap<string, number>,
): string[] {
  const load = new Map(nodes.map((n) => [n, podsPerNode.get(n) ?? 0]));
  return pods.map((pod) => {
    let chosen: string | undefined = pod.nodeName;
    if (chosen !== undefined && !load.has(chosen)) {
      throw new LabError('InvalidResource', `Pod ${podId(pod)}: spec.nodeName ${JSON.stringify(chosen)} is not a node of this lab (nodes: ${nodes.join(', ')})`);
    }
    if (chosen === undefined) {
      for (const n of nodes) if (chosen === undefined || load.get(n)! < load.get(chosen)!) chosen = n;
    }
    if (chosen === undefined) throw new LabError('InvalidResource', `Pod ${podId(pod)}: the lab has no nodes to run it on`);
    load.set(chosen, load.get(chosen)! + 1);
    return chosen;
  });
}
