// The table columns `tabbyctl get` prints per kind, after calicoctl's `NAME ...` headings.
//
// Each kind has a default column set and a wider one (`-o wide`). Kinds without an entry print
// NAME only (and NAMESPACE first for namespaced kinds when several namespaces are listed). A cell
// renders a missing field as empty, never as "undefined", and lists joined by commas.

import type { JsonValue } from '../datastore/index.js';

/** The part of a resource the table reads; any v3 or Kubernetes object fits. */
export interface TableResource {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly spec?: unknown;
  readonly status?: unknown;
}

export interface Column {
  readonly header: string;
  readonly value: (r: TableResource) => string;
  /** Shown only with `-o wide`. */
  readonly wide?: boolean;
}

/** Read a dotted path out of a resource, as a cell string; `otherwise` when the field is unset. */
function field(path: string, otherwise = ''): (r: TableResource) => string {
  const parts = path.split('.');
  return (r) => {
    const v = parts.reduce<unknown>((v, p) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined), r);
    return v === undefined || v === null ? otherwise : cell(v);
  };
}

export function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(cell).join(',');
  if (typeof v === 'object') return JSON.stringify(v as JsonValue);
  return String(v);
}

const name: Column = { header: 'NAME', value: (r) => r.metadata.name };
const labels: Column = {
  header: 'LABELS',
  wide: true,
  value: (r) =>
    Object.entries(r.metadata.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(','),
};
const col = (header: string, path: string, wide = false): Column => (wide ? { header, value: field(path), wide } : { header, value: field(path) });
/** A boolean field whose unset value means false, shown as calicoctl shows it. */
const flag = (header: string, path: string): Column => ({ header, value: field(path, 'false'), wide: true });

const policyColumns: Column[] = [name, col('TIER', 'spec.tier', true), col('ORDER', 'spec.order', true), col('SELECTOR', 'spec.selector', true)];

const COLUMNS: Record<string, Column[]> = {
  IPPool: [
    name,
    col('CIDR', 'spec.cidr'),
    flag('NAT', 'spec.natOutgoing'),
    col('IPIPMODE', 'spec.ipipMode', true),
    col('VXLANMODE', 'spec.vxlanMode', true),
    flag('DISABLED', 'spec.disabled'),
    flag('DISABLEBGPEXPORT', 'spec.disableBGPExport'),
    col('SELECTOR', 'spec.nodeSelector'),
  ],
  IPReservation: [name, col('CIDRS', 'spec.reservedCIDRs')],
  NetworkPolicy: policyColumns,
  GlobalNetworkPolicy: policyColumns,
  StagedNetworkPolicy: policyColumns,
  StagedGlobalNetworkPolicy: policyColumns,
  Tier: [name, col('ORDER', 'spec.order'), col('DEFAULTACTION', 'spec.defaultAction', true)],
  Profile: [name, labels],
  NetworkSet: [name, col('NETS', 'spec.nets', true), labels],
  GlobalNetworkSet: [name, col('NETS', 'spec.nets', true), labels],
  HostEndpoint: [
    name,
    col('NODE', 'spec.node'),
    col('INTERFACE', 'spec.interfaceName', true),
    col('IPS', 'spec.expectedIPs', true),
    col('PROFILES', 'spec.profiles', true),
  ],
  WorkloadEndpoint: [
    { ...name, wide: true },
    // Kubernetes endpoints carry the pod in spec.pod and leave spec.workload empty; calicoctl shows the pod.
    { header: 'WORKLOAD', value: (r) => field('spec.workload')(r) || field('spec.pod')(r) },
    col('NODE', 'spec.node'),
    col('NETWORKS', 'spec.ipNetworks'),
    col('INTERFACE', 'spec.interfaceName'),
    col('PROFILES', 'spec.profiles', true),
    col('NATS', 'spec.ipNATs', true),
  ],
  Node: [name, col('ASN', 'spec.bgp.asNumber', true), col('IPV4', 'spec.bgp.ipv4Address', true), col('IPV6', 'spec.bgp.ipv6Address', true)],
  BGPPeer: [
    name,
    col('PEERIP', 'spec.peerIP'),
    col('NODE', 'spec.node'),
    col('ASN', 'spec.asNumber'),
    col('PEERSELECTOR', 'spec.peerSelector', true),
    col('NODESELECTOR', 'spec.nodeSelector', true),
    col('NEXTHOPMODE', 'spec.nextHopMode', true),
    col('FILTERS', 'spec.filters', true),
    // BFD is Tabby's addition, switched on per BGPPeer by this annotation.
    { header: 'BFD', value: (r) => ((r.metadata as { annotations?: Record<string, string> }).annotations?.['tabby.dev/bfd'] === 'true' ? 'true' : ''), wide: true },
  ],
  BGPConfiguration: [
    name,
    col('LOGSEVERITY', 'spec.logSeverityScreen'),
    col('MESHENABLED', 'spec.nodeToNodeMeshEnabled'),
    col('ASNUMBER', 'spec.asNumber'),
  ],
  ClusterInformation: [name, col('CALICOVERSION', 'spec.calicoVersion', true), col('DATASTOREREADY', 'spec.datastoreReady', true), col('CLUSTERGUID', 'spec.clusterGUID', true)],
  'v1/Namespace': [name, labels],
  'v1/Pod': [name, col('NODE', 'spec.nodeName'), col('IP', 'status.podIP'), labels],
  'networking.k8s.io/v1/NetworkPolicy': [name, { header: 'POD-SELECTOR', value: (r) => kubectlSelector((r.spec as { podSelector?: K8sSelector } | undefined)?.podSelector) }, col('POLICYTYPES', 'spec.policyTypes', true)],
};

interface K8sSelector {
  readonly matchLabels?: Record<string, string>;
  readonly matchExpressions?: readonly { key: string; operator: string; values?: readonly string[] }[];
}

/** A Kubernetes LabelSelector as kubectl prints it (`app=web,env in (a,b)`), `<none>` when empty. */
export function kubectlSelector(s: K8sSelector | undefined): string {
  const terms = [
    ...Object.entries(s?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s?.matchExpressions ?? []).map((e) => {
      const values = `(${(e.values ?? []).join(',')})`;
      if (e.operator === 'In') return `${e.key} in ${values}`;
      if (e.operator === 'NotIn') return `${e.key} notin ${values}`;
      if (e.operator === 'Exists') return e.key;
      return `!${e.key}`;
    }),
  ];
  return terms.length === 0 ? '<none>' : terms.join(',');
}

/** Table key of a kind: the kind for Calico kinds, `<apiVersion>/<kind>` for Kubernetes ones. */
export const columnsKey = (kind: { kind: string; apiVersion: string; kubernetes: boolean }): string =>
  kind.kubernetes ? `${kind.apiVersion}/${kind.kind}` : kind.kind;

/** The columns for a kind (by columnsKey), with NAMESPACE first when `withNamespace`. */
export function columnsFor(key: string, opts: { wide: boolean; withNamespace: boolean; showLabels?: boolean }): Column[] {
  const all = COLUMNS[key] ?? [name];
  const chosen = all.filter((c) => opts.wide || !c.wide);
  // --show-labels: the LABELS column, once, last (kubectl's place for it).
  const withLabels = opts.showLabels ? [...chosen.filter((c) => c !== labels), { ...labels, wide: false }] : chosen;
  return opts.withNamespace ? [{ header: 'NAMESPACE', value: (r) => r.metadata.namespace ?? '' }, ...withLabels] : withLabels;
}

/** Render rows as a left-aligned table: columns separated by three spaces, no trailing blanks. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], opts: { noHeaders?: boolean } = {}): string {
  const shown = opts.noHeaders ? rows : [headers, ...rows];
  if (shown.length === 0) return '';
  const widths = headers.map((h, i) => Math.max(opts.noHeaders ? 0 : h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return shown.map(line).join('\n') + '\n';
}
