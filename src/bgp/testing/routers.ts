// The interop peers of the tests — BIRD 2, GoBGP, FRR — and Tabby's own daemon, behind one small
// interface: start with a router description (AS, router ID, neighbours, prefixes to originate,
// route-reflector and graceful-restart options), read the RIB as {prefix → path}, ask whether
// a session is up, shut a session down with a Cease, ask the neighbour for a route refresh.
// Each renders its own native configuration into the lab's scratch directory.

import type { NetLab } from './netlab.js';
import { TABBY_BIN, must, sh, waitFor } from './netlab.js';
import { queryDaemon } from '../daemon.js';

export interface Neighbor {
  readonly address: string;
  readonly as: number;
  readonly family: 'ipv4' | 'ipv6';
  readonly rrClient?: boolean;
  readonly passive?: boolean;
  /** BFD for this neighbour (RFC 5880/5881, single hop) with these intervals; undefined = off. */
  readonly bfd?: BfdSpec;
  /** TCP-MD5 (RFC 2385) password for the session. */
  readonly password?: string;
  /** GTSM (RFC 5082): the neighbour is this many hops away. */
  readonly ttlSecurity?: number;
}

export interface BfdSpec {
  readonly minTxMs: number;
  readonly minRxMs: number;
  readonly multiplier: number;
}

export interface RouterSpec {
  readonly node: string;
  readonly as: number;
  readonly routerId: string;
  readonly clusterId?: string;
  readonly neighbors: readonly Neighbor[];
  readonly originate: readonly string[];
  /** Graceful restart time to advertise (seconds); undefined = graceful restart off. */
  readonly restartTime?: number;
  /** Extra lines for Tabby's YAML (top level). */
  readonly tabbyExtra?: string;
}

export interface PathView {
  readonly asPath: number[];
  readonly nextHop: string;
  readonly originatorId?: string;
  readonly clusterList?: string[];
  readonly stale?: boolean;
}

export interface Router {
  readonly kind: 'tabby' | 'bird' | 'gobgp' | 'frr';
  readonly spec: RouterSpec;
  start(opts?: { restarting?: boolean }): Promise<void>;
  /** SIGKILL (no NOTIFICATION: a crash or a graceful-restart stop) or SIGTERM. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  rib(family: 'ipv4' | 'ipv6'): Promise<Map<string, PathView>>;
  established(neighbor: string): Promise<boolean>;
  /** Administratively shut the session down (a Cease NOTIFICATION to the neighbour). */
  shutdown(neighbor: string): Promise<void>;
  /** Ask the neighbour to resend its routes (sends a ROUTE-REFRESH). */
  refreshIn(neighbor: string): Promise<void>;
}

const v6 = (a: string) => a.includes(':');

// ---- Tabby ---------------------------------------------------------------------------------

export class TabbyRouter implements Router {
  readonly kind = 'tabby';
  readonly socket: string;
  constructor(readonly lab: NetLab, readonly spec: RouterSpec, readonly name = `tabby-${spec.node}`) {
    this.socket = `${lab.dir}/${name}.sock`;
  }

  config(): string {
    const s = this.spec;
    const lines = [
      `asNumber: ${s.as}`,
      `routerID: ${s.routerId}`,
      ...(s.clusterId ? [`routeReflectorClusterID: ${s.clusterId}`] : []),
      'listenPort: 179',
      `statusSocket: ${this.socket}`,
      'kernel: { table: main, resyncSeconds: 5 }',
      `gracefulRestart: { enabled: ${s.restartTime !== undefined}, restartTime: ${s.restartTime ?? 120}, selectionDeferralTime: 60 }`,
      'logLevel: info',
      `originate: [${s.originate.join(', ')}]`,
      ...(s.tabbyExtra ? [s.tabbyExtra] : []),
      'peers:',
      ...s.neighbors.flatMap((n) => [
        `  - peerIP: ${n.address}`,
        `    asNumber: ${n.as}`,
        `    families: [${n.family}]`,
        '    connectRetryTime: 1',
        '    holdTime: 30',
        ...(n.rrClient ? ['    routeReflectorClient: true'] : []),
        ...(n.passive ? ['    passive: true'] : []),
        ...(n.bfd ? [`    bfd: { minTxMs: ${n.bfd.minTxMs}, minRxMs: ${n.bfd.minRxMs}, multiplier: ${n.bfd.multiplier} }`] : []),
        ...(n.password !== undefined ? [`    password: ${JSON.stringify(n.password)}`] : []),
        ...(n.ttlSecurity !== undefined ? [`    ttlSecurity: ${n.ttlSecurity}`] : []),
      ]),
    ];
    return lines.join('\n') + '\n';
  }

  async start(): Promise<void> {
    const file = this.lab.file(`${this.name}.yaml`, this.config());
    this.lab.spawn(this.spec.node, this.name, process.execPath, [TABBY_BIN, 'bgp', 'run', '--config', file]);
    await waitFor(`${this.name} status socket`, async () => ((await this.cli(['status', '-o', 'json'])).code === 0 ? true : undefined), 15_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.lab.kill(this.name, signal);
  }

  cli(args: string[]) {
    return this.lab.exec(this.spec.node, process.execPath, [TABBY_BIN, 'bgp', ...args, '--socket', this.socket]);
  }

  async status(): Promise<{ peers: { address: string; state: string; since: string; prefixes: { received: number; accepted: number; advertised: number }; updates: { received: number; sent: number }; stale: boolean; lastError: string; bfd: { state: string; remoteState: string; diagnostic: string; detectionTimeMs: number; downTransitions: number } | null }[]; restarting: boolean }> {
    // The status socket is a file: the test process reaches it without entering the namespace.
    return (await queryDaemon(this.socket, { command: 'status' })) as Awaited<ReturnType<TabbyRouter['status']>>;
  }

  async peer(address: string) {
    const p = (await this.status()).peers.find((x) => x.address === address);
    if (!p) throw new Error(`no peer ${address}`);
    return p;
  }

  async rib(family: 'ipv4' | 'ipv6'): Promise<Map<string, PathView>> {
    const r = (await queryDaemon(this.socket, { command: 'routes', family: family === 'ipv4' ? 4 : 6 })) as { routes: unknown[] };
    const out = new Map<string, PathView>();
    for (const x of r.routes as { prefix: string; best: boolean; asPath: string; nextHop: string; originatorID?: string; clusterList?: string[]; stale: boolean }[]) {
      if (!x.best) continue;
      out.set(x.prefix, {
        asPath: x.asPath ? x.asPath.split(' ').map(Number) : [],
        nextHop: x.nextHop,
        stale: x.stale,
        ...(x.originatorID ? { originatorId: x.originatorID } : {}),
        ...(x.clusterList ? { clusterList: x.clusterList } : {}),
      });
    }
    return out;
  }

  async established(neighbor: string): Promise<boolean> {
    return (await this.peer(neighbor)).state === 'Established';
  }

  async shutdown(): Promise<void> {
    throw new Error('not used');
  }

  async refreshIn(neighbor: string): Promise<void> {
    const r = await this.cli(['refresh', neighbor]);
    if (r.code !== 0) throw new Error(`tabby bgp refresh: ${r.stderr}`);
  }
}

// ---- BIRD 2 --------------------------------------------------------------------------------

export class BirdRouter implements Router {
  readonly kind = 'bird';
  private readonly sock: string;
  constructor(readonly lab: NetLab, readonly spec: RouterSpec) {
    this.sock = `${lab.dir}/bird-${spec.node}.ctl`;
  }

  private protoName(n: Neighbor): string {
    return `n_${n.address.replace(/[.:]/g, '_')}`;
  }

  config(): string {
    const s = this.spec;
    const node = this.lab.node(s.node);
    const out = [
      `router id ${s.routerId};`,
      'protocol device { scan time 1; }',
      'protocol direct { ipv4; ipv6; interface "eth0"; }',
    ];
    const v4 = s.originate.filter((p) => !v6(p));
    const v6s = s.originate.filter(v6);
    if (v4.length) out.push(`protocol static s4 { ipv4; ${v4.map((p) => `route ${p} blackhole;`).join(' ')} }`);
    if (v6s.length) out.push(`protocol static s6 { ipv6; ${v6s.map((p) => `route ${p} blackhole;`).join(' ')} }`);
    const bfd = s.neighbors.find((n) => n.bfd)?.bfd;
    if (bfd) {
      out.push('protocol bfd {', '  interface "eth0" {',
        `    min rx interval ${bfd.minRxMs} ms; min tx interval ${bfd.minTxMs} ms; idle tx interval 1 s; multiplier ${bfd.multiplier};`,
        '  };', '}');
    }
    for (const n of s.neighbors) {
      const local = v6(n.address) ? node.v6 : node.v4;
      out.push(`protocol bgp ${this.protoName(n)} {`,
        `  local ${local} as ${s.as};`,
        `  neighbor ${n.address} as ${n.as};`,
        `  ${n.family} { import all; export where source ~ [RTS_STATIC, RTS_BGP]; };`,
        '  connect delay time 1; connect retry time 1; error wait time 1, 2; hold time 30;',
        ...(s.restartTime !== undefined ? [`  graceful restart on; graceful restart time ${s.restartTime};`] : ['  graceful restart off;']),
        ...(n.rrClient ? ['  rr client;'] : []),
        ...(n.bfd ? ['  bfd on;'] : []),
        ...(n.passive ? ['  passive on;'] : []),
        ...(n.password !== undefined ? [`  password ${JSON.stringify(n.password)};`] : []),
        ...(n.ttlSecurity !== undefined ? ['  ttl security on;', ...(n.ttlSecurity > 1 ? [`  multihop ${n.ttlSecurity};`] : [])] : []),
        ...(n.rrClient && s.clusterId ? [`  rr cluster id ${s.clusterId};`] : []),
        '}');
    }
    return out.join('\n') + '\n';
  }

  async start(): Promise<void> {
    const conf = this.lab.file(`bird-${this.spec.node}.conf`, this.config());
    this.lab.spawn(this.spec.node, `bird-${this.spec.node}`, 'bird', ['-f', '-c', conf, '-s', this.sock, '-P', `${this.lab.dir}/bird-${this.spec.node}.pid`]);
    await waitFor('BIRD control socket', async () => ((await this.birdc('show status')).includes('Daemon is up') ? true : undefined), 15_000);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.lab.kill(`bird-${this.spec.node}`, signal);
  }

  async birdc(cmd: string): Promise<string> {
    const r = await this.lab.exec(this.spec.node, 'birdc', ['-s', this.sock, ...cmd.split(' ')]);
    return r.stdout;
  }

  async rib(family: 'ipv4' | 'ipv6'): Promise<Map<string, PathView>> {
    const text = await this.birdc(`show route all table master${family === 'ipv4' ? 4 : 6}`);
    const out = new Map<string, PathView>();
    let prefix: string | undefined;
    let cur: { asPath: number[]; nextHop: string; originatorId?: string; clusterList?: string[]; stale?: boolean } | undefined;
    const flush = () => {
      if (prefix && cur && !out.has(prefix)) out.set(prefix, cur);
    };
    for (const line of text.split('\n')) {
      const m = /^(\S+\/\d+)\s+\S+\s+\[(\S+)/.exec(line);
      const alt = /^\s{8,}\S+\s+\[(\S+)/.exec(line);
      if (m || alt) {
        flush();
        if (m) prefix = m[1];
        cur = { asPath: [], nextHop: '', ...(line.includes(' !') || /stale/i.test(line) ? { stale: true } : {}) };
        continue;
      }
      if (!cur) continue;
      const a = /^\s+BGP\.(\w+):\s*(.*)$/.exec(line);
      if (!a) continue;
      const [, k, v] = a;
      if (k === 'as_path') cur.asPath = v!.trim() ? v!.trim().split(/\s+/).map(Number) : [];
      if (k === 'next_hop') cur.nextHop = v!.trim().split(/\s+/)[0]!;
      if (k === 'originator_id') cur.originatorId = v!.trim();
      if (k === 'cluster_list') cur.clusterList = v!.trim().split(/\s+/);
    }
    flush();
    return out;
  }

  private neighborOf(address: string): Neighbor {
    const n = this.spec.neighbors.find((x) => x.address === address);
    if (!n) throw new Error(`BIRD has no neighbour ${address}`);
    return n;
  }

  async established(neighbor: string): Promise<boolean> {
    const t = await this.birdc(`show protocols ${this.protoName(this.neighborOf(neighbor))}`);
    return /Established/.test(t);
  }

  async shutdown(neighbor: string): Promise<void> {
    await this.birdc(`disable ${this.protoName(this.neighborOf(neighbor))}`);
  }

  async refreshIn(neighbor: string): Promise<void> {
    await this.birdc(`reload in ${this.protoName(this.neighborOf(neighbor))}`);
  }

  /** BFD session state for a neighbour as BIRD's `show bfd sessions` has it (Up, Down, Init, ...). */
  async bfdState(neighbor: string): Promise<string | undefined> {
    const t = await this.birdc('show bfd sessions');
    const line = t.split('\n').find((l) => l.trim().startsWith(`${neighbor} `));
    return line?.trim().split(/\s+/)[2];
  }
}

// ---- GoBGP ---------------------------------------------------------------------------------

export class GobgpRouter implements Router {
  readonly kind = 'gobgp';
  constructor(readonly lab: NetLab, readonly spec: RouterSpec) {}

  config(): string {
    const s = this.spec;
    const node = this.lab.node(s.node);
    const out = ['[global.config]', `  as = ${s.as}`, `  router-id = "${s.routerId}"`, '  port = 179', `  local-address-list = ["${node.v4}", "${node.v6}"]`];
    for (const n of s.neighbors) {
      out.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${n.address}"`, `    peer-as = ${n.as}`,
        '  [neighbors.timers.config]', '    connect-retry = 1', '    hold-time = 30', '    keepalive-interval = 10',
        '  [neighbors.transport.config]', `    local-address = "${v6(n.address) ? node.v6 : node.v4}"`,
        ...(n.passive ? ['    passive-mode = true'] : []),
        '  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${n.family}-unicast"`,
        ...(s.restartTime !== undefined ? ['    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true'] : []));
      if (s.restartTime !== undefined) out.push('  [neighbors.graceful-restart.config]', '    enabled = true', `    restart-time = ${s.restartTime}`);
      if (n.rrClient) out.push('  [neighbors.route-reflector.config]', '    route-reflector-client = true', `    route-reflector-cluster-id = "${s.clusterId ?? s.routerId}"`);
    }
    return out.join('\n') + '\n';
  }

  async start(opts: { restarting?: boolean } = {}): Promise<void> {
    const conf = this.lab.file(`gobgp-${this.spec.node}.toml`, this.config());
    this.lab.spawn(this.spec.node, `gobgp-${this.spec.node}`, 'gobgpd', ['-f', conf, '-l', 'warn', ...(opts.restarting ? ['-r'] : [])]);
    await waitFor('gobgpd API', async () => ((await this.gobgp(['global'])).code === 0 ? true : undefined), 15_000);
    for (const p of this.spec.originate) await must('ip', ['netns', 'exec', this.lab.node(this.spec.node).ns, 'gobgp', 'global', 'rib', 'add', p, '-a', v6(p) ? 'ipv6' : 'ipv4']);
  }

  gobgp(args: string[]) {
    return this.lab.exec(this.spec.node, 'gobgp', args);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.lab.kill(`gobgp-${this.spec.node}`, signal);
  }

  async rib(family: 'ipv4' | 'ipv6'): Promise<Map<string, PathView>> {
    const r = await this.gobgp(['global', 'rib', '-a', family, '-j']);
    const out = new Map<string, PathView>();
    if (r.code !== 0 || !r.stdout.trim()) return out;
    const data = JSON.parse(r.stdout) as Record<string, { best?: boolean; stale?: boolean; attrs: { type: number; value?: unknown; nexthop?: string; as_paths?: { asns: number[] }[]; mp_reach_nlri?: unknown }[] }[]>;
    for (const [prefix, paths] of Object.entries(data)) {
      const p = paths.find((x) => x.best) ?? paths[0];
      if (!p) continue;
      let asPath: number[] = [];
      let nextHop = '';
      let originatorId: string | undefined;
      let clusterList: string[] | undefined;
      for (const a of p.attrs) {
        if (a.type === 2) asPath = (a.as_paths ?? []).flatMap((s) => s.asns);
        if (a.type === 3) nextHop = a.nexthop ?? '';
        if (a.type === 14) nextHop = ((a as { nexthop?: string }).nexthop ?? '');
        if (a.type === 9) originatorId = String(a.value);
        if (a.type === 10) clusterList = (a.value as string[]).map(String);
      }
      out.set(prefix, { asPath, nextHop, ...(p.stale ? { stale: true } : {}), ...(originatorId ? { originatorId } : {}), ...(clusterList ? { clusterList } : {}) });
    }
    return out;
  }

  async established(neighbor: string): Promise<boolean> {
    const r = await this.gobgp(['neighbor', neighbor]);
    return /BGP state = (BGP_FSM_)?ESTABLISHED/i.test(r.stdout);
  }

  async shutdown(neighbor: string): Promise<void> {
    await this.gobgp(['neighbor', neighbor, 'disable']);
  }

  /** GoBGP's `softresetin` re-filters its own Adj-RIB-In and sends no ROUTE-REFRESH; its CLI has
   *  no way to send one, so the suite does not ask GoBGP to. */
  async refreshIn(): Promise<void> {
    throw new Error('GoBGP cannot be made to send a ROUTE-REFRESH from its CLI');
  }
}

// ---- FRR -----------------------------------------------------------------------------------

export class FrrRouter implements Router {
  readonly kind = 'frr';
  private readonly vtyDir: string;
  constructor(readonly lab: NetLab, readonly spec: RouterSpec) {
    this.vtyDir = `${lab.dir}/frr-${spec.node}`;
  }

  config(): string {
    const s = this.spec;
    const node = this.lab.node(s.node);
    const out = ['frr defaults traditional', `hostname frr-${s.node}`, 'log stdout informational', `router bgp ${s.as}`, ` bgp router-id ${s.routerId}`,
      ' no bgp ebgp-requires-policy', ' no bgp network import-check', ' no bgp default ipv4-unicast', ' timers bgp 10 30'];
    if (s.clusterId) out.push(` bgp cluster-id ${s.clusterId}`);
    if (s.restartTime !== undefined) out.push(' bgp graceful-restart', ` bgp graceful-restart restart-time ${s.restartTime}`, ' bgp graceful-restart preserve-fw-state');
    for (const n of s.neighbors) {
      out.push(` neighbor ${n.address} remote-as ${n.as}`, ` neighbor ${n.address} timers connect 1`, ` neighbor ${n.address} update-source ${v6(n.address) ? node.v6 : node.v4}`);
      if (n.passive) out.push(` neighbor ${n.address} passive`);
      if (n.password !== undefined) out.push(` neighbor ${n.address} password ${n.password}`);
      if (n.ttlSecurity !== undefined) out.push(` neighbor ${n.address} ttl-security hops ${n.ttlSecurity}`);
      if (n.bfd) out.push(` neighbor ${n.address} bfd`, ` neighbor ${n.address} bfd profile tabby`);
    }
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const ns = s.neighbors.filter((n) => n.family === fam);
      const nets = s.originate.filter((p) => v6(p) === (fam === 'ipv6'));
      if (!ns.length && !nets.length) continue;
      out.push(` address-family ${fam} unicast`);
      for (const p of nets) out.push(`  network ${p}`);
      for (const n of ns) {
        out.push(`  neighbor ${n.address} activate`, `  neighbor ${n.address} advertisement-interval 0`);
        if (n.rrClient) out.push(`  neighbor ${n.address} route-reflector-client`);
      }
      out.push(' exit-address-family');
    }
    return out.join('\n') + '\n';
  }

  async start(): Promise<void> {
    // FRR drops to its own user (frr, group frrvty): it must reach its directory.
    await must('chmod', ['755', this.lab.dir]);
    await must('mkdir', ['-p', this.vtyDir]);
    await must('chown', ['frr:frr', this.vtyDir]);
    const node = this.spec.node;
    const zconf = this.lab.file(`frr-${node}-zebra.conf`, `hostname frr-${node}\n`);
    const bconf = this.lab.file(`frr-${node}-bgpd.conf`, this.config());
    const zsock = `${this.vtyDir}/zserv.api`;
    const common = ['--vty_socket', this.vtyDir, '-z', zsock, '-P', '0'];
    this.lab.spawn(node, `zebra-${node}`, '/usr/lib/frr/zebra', ['-f', zconf, '-i', `${this.vtyDir}/zebra.pid`, ...common]);
    // test -S as root sees the socket as soon as zebra made it.
    await waitFor('zebra socket', async () => ((await sh('test', ['-S', zsock])).code === 0 ? true : undefined), 15_000);
    const bfd = this.spec.neighbors.find((n) => n.bfd)?.bfd;
    if (bfd) {
      // bfdd holds the sessions; bgpd asks for them through zebra. The profile sets the intervals.
      const fconf = this.lab.file(`frr-${node}-bfdd.conf`, ['bfd', ' profile tabby', `  receive-interval ${bfd.minRxMs}`, `  transmit-interval ${bfd.minTxMs}`, `  detect-multiplier ${bfd.multiplier}`, ' exit', 'exit', ''].join('\n'));
      this.lab.spawn(node, `bfdd-${node}`, '/usr/lib/frr/bfdd', ['-f', fconf, '-i', `${this.vtyDir}/bfdd.pid`, '--bfdctl', `${this.vtyDir}/bfdd.sock`, ...common]);
      await waitFor('bfdd vty', async () => ((await this.vtysh('show bfd peers')).code === 0 ? true : undefined), 15_000);
    }
    this.lab.spawn(node, `bgpd-${node}`, '/usr/lib/frr/bgpd', ['-f', bconf, '-i', `${this.vtyDir}/bgpd.pid`, ...common, '-p', '179']);
    await waitFor('bgpd vty', async () => ((await this.vtysh('show bgp summary')).code === 0 ? true : undefined), 15_000);
  }

  /** BFD session state for a neighbour as FRR's bfdd has it (up, down, init, ...). */
  async bfdState(neighbor: string): Promise<string | undefined> {
    const r = await this.vtysh('show bfd peers json');
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { peer: string; status: string }[]).find((p) => p.peer === neighbor)?.status;
  }

  vtysh(cmd: string) {
    return this.lab.exec(this.spec.node, 'vtysh', ['--vty_socket', this.vtyDir, '-c', cmd]);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.lab.kill(`bgpd-${this.spec.node}`, signal);
    await this.lab.kill(`bfdd-${this.spec.node}`, signal);
    await this.lab.kill(`zebra-${this.spec.node}`, signal);
  }

  async rib(family: 'ipv4' | 'ipv6'): Promise<Map<string, PathView>> {
    const r = await this.vtysh(`show bgp ${family} unicast json`);
    const out = new Map<string, PathView>();
    if (r.code !== 0) return out;
    const data = JSON.parse(r.stdout) as { routes?: Record<string, unknown[]> };
    for (const prefix of Object.keys(data.routes ?? {})) {
      const d = await this.vtysh(`show bgp ${family} unicast ${prefix} json`);
      const detail = JSON.parse(d.stdout) as { paths?: { bestpath?: { overall?: boolean }; aspath?: { string?: string }; nexthops?: { ip: string }[]; originatorId?: string; clusterList?: { list?: string[] }; stale?: boolean }[] };
      const paths = detail.paths ?? [];
      const p = paths.find((x) => x.bestpath?.overall) ?? paths[0];
      if (!p) continue;
      const asText = p.aspath?.string ?? '';
      out.set(prefix, {
        asPath: asText && asText !== 'Local' ? asText.split(' ').map(Number) : [],
        nextHop: p.nexthops?.[0]?.ip ?? '',
        ...(p.stale ? { stale: true } : {}),
        ...(p.originatorId ? { originatorId: p.originatorId } : {}),
        ...(p.clusterList?.list ? { clusterList: p.clusterList.list } : {}),
      });
    }
    return out;
  }

  async established(neighbor: string): Promise<boolean> {
    const r = await this.vtysh(`show bgp neighbors ${neighbor} json`);
    if (r.code !== 0) return false;
    const d = JSON.parse(r.stdout) as Record<string, { bgpState?: string }>;
    return d[neighbor]?.bgpState === 'Established';
  }

  async shutdown(neighbor: string): Promise<void> {
    await this.lab.exec(this.spec.node, 'vtysh', ['--vty_socket', this.vtyDir, '-c', 'configure terminal', '-c', `router bgp ${this.spec.as}`, '-c', `neighbor ${neighbor} shutdown`]);
  }

  async refreshIn(neighbor: string): Promise<void> {
    await this.vtysh(`clear bgp ${neighbor} soft in`);
  }
}

export function makeRouter(kind: 'bird' | 'gobgp' | 'frr', lab: NetLab, spec: RouterSpec): Router {
  if (kind === 'bird') return new BirdRouter(lab, spec);
  if (kind === 'gobgp') return new GobgpRouter(lab, spec);
  return new FrrRouter(lab, spec);
}
