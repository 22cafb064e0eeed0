// The lab's top-of-rack router (`tabby lab up --tor bird|gobgp|frr`): a namespace `tor` on the
// underlay (.4 on subnet 0) running BIRD 2, GoBGP or FRR in AS 65010, with an eBGP session to
// every node over IPv4 and IPv6; the nodes peer with it through one global BGPPeer per family,
// as Calico's docs configure a ToR. It learns every node's blocks; it announces nothing itself.
//
// The ToR has its own mount namespace in which private directories cover /run/bird and /run/frr,
// so each daemon's CLI finds it at its default socket (`tabby lab exec tor -- birdc show route`,
// `gobgp global rib`, `vtysh -c 'show bgp ipv4 unicast'`) and two labs never share one.

import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureMountTargets, createNodeNamespaces } from './node-namespaces.js';
import type { LabPlan, TorPlan } from './plan.js';
import { startDaemon } from './processes.js';
import { type LabState, recordMade } from './state.js';
import { SYSTEM_PATH, inNamespaces, run, runIn } from './sys.js';
import { addNetns, attach, sysctlIn } from './underlay.js';
import { LabError } from './errors.js';

const TOR_DIRS = [
  { target: '/run/bird', source: 'run-bird' },
  { target: '/run/frr', source: 'run-frr' },
] as const;

const nsOf = (tor: TorPlan) => ({ netns: tor.netns, mountNs: tor.mountNs, utsNs: tor.utsNs });

/** The ToR's native configuration (pure): one IPv4 and one IPv6 eBGP neighbour per node. */
export function torConfig(plan: LabPlan, tor: TorPlan, nodeAs = 64512): { file: string; text: string } {
  const nodes = plan.nodes;
  if (tor.flavour === 'bird') {
    const lines = [`router id ${tor.address4};`, 'protocol device { scan time 5; }'];
    for (const n of nodes) {
      for (const [fam, local, addr] of [['ipv4', tor.address4, n.address4], ['ipv6', tor.address6, n.address6]] as const) {
        lines.push(`protocol bgp ${n.name.replace(/-/g, '_')}_${fam === 'ipv4' ? 'v4' : 'v6'} {`, `  local ${local} as ${tor.asNumber};`, `  neighbor ${addr} as ${nodeAs};`,
          `  ${fam} { import all; export all; };`, '  graceful restart on;', '  connect retry time 2; error wait time 1, 5;', '}');
      }
    }
    return { file: 'bird.conf', text: lines.join('\n') + '\n' };
  }
  if (tor.flavour === 'gobgp') {
    const out = ['[global.config]', `  as = ${tor.asNumber}`, `  router-id = "${tor.address4}"`, '  port = 179', `  local-address-list = ["${tor.address4}", "${tor.address6}"]`];
    for (const n of nodes) {
      for (const [fam, local, addr] of [['ipv4', tor.address4, n.address4], ['ipv6', tor.address6, n.address6]] as const) {
        out.push('[[neighbors]]', '  [neighbors.config]', `    neighbor-address = "${addr}"`, `    peer-as = ${nodeAs}`,
          '  [neighbors.timers.config]', '    connect-retry = 2', '  [neighbors.transport.config]', `    local-address = "${local}"`,
          '  [neighbors.graceful-restart.config]', '    enabled = true',
          '  [[neighbors.afi-safis]]', '    [neighbors.afi-safis.config]', `      afi-safi-name = "${fam}-unicast"`,
          '    [neighbors.afi-safis.mp-graceful-restart.config]', '      enabled = true');
      }
    }
    return { file: 'gobgpd.toml', text: out.join('\n') + '\n' };
  }
  const out = ['frr defaults traditional', 'hostname tor', 'log stdout informational', `router bgp ${tor.asNumber}`, ` bgp router-id ${tor.address4}`,
    ' no bgp ebgp-requires-policy', ' no bgp default ipv4-unicast', ' bgp graceful-restart'];
  for (const n of nodes) {
    out.push(` neighbor ${n.address4} remote-as ${nodeAs}`, ` neighbor ${n.address4} timers connect 2`, ` neighbor ${n.address6} remote-as ${nodeAs}`, ` neighbor ${n.address6} timers connect 2`);
  }
  for (const fam of ['ipv4', 'ipv6'] as const) {
    out.push(` address-family ${fam} unicast`);
    for (const n of nodes) out.push(`  neighbor ${fam === 'ipv4' ? n.address4 : n.address6} activate`);
    out.push(' exit-address-family');
  }
  return { file: 'bgpd.conf', text: out.join('\n') + '\n' };
}

/** The BGPPeers that make every node peer with the ToR (global: no node, no nodeSelector). */
export function torPeers(tor: TorPlan): object[] {
  return [['tor', tor.address4], ['tor-v6', tor.address6]].map(([name, ip]) => ({
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPPeer',
    metadata: { name },
    spec: { peerIP: ip, asNumber: tor.asNumber },
  }));
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new LabError('Timeout', `the ToR's ${what} did not come up within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Creates the ToR namespace and starts its router. */
export async function startTor(state: LabState, plan: LabPlan, tor: TorPlan): Promise<void> {
  await addNetns(state, tor.netns);
  await sysctlIn(tor.netns, { 'net.ipv6.conf.all.forwarding': '1' });
  await attach(plan, tor);
  ensureMountTargets(state, TOR_DIRS);
  await createNodeNamespaces(state, plan, tor, TOR_DIRS);
  // FRR drops to its own user: its directories must be its own.
  for (const d of TOR_DIRS) chmodSync(join(tor.dir, d.source), 0o755);
  chmodSync(tor.dir, 0o755);
  const conf = torConfig(plan, tor);
  const confPath = join(tor.dir, conf.file);
  writeFileSync(confPath, conf.text);
  chmodSync(confPath, 0o644);
  const env = { PATH: SYSTEM_PATH };
  const logFile = join(tor.dir, `${tor.flavour}.log`);
  const start = async (role: string, argv: string[]) => {
    const h = await startDaemon([...inNamespaces(nsOf(tor)), ...argv], { env, logFile });
    recordMade(state, { kind: 'process', pid: h.pid, startTime: h.startTime, role: `tor ${role}` });
  };
  const ok = async (argv: string[]) => (await runIn(nsOf(tor), argv, { allowFailure: true })).code === 0;
  if (tor.flavour === 'bird') {
    await start('bird', ['bird', '-f', '-c', confPath]);
    await waitFor('BIRD', () => ok(['birdc', 'show', 'status']));
  } else if (tor.flavour === 'gobgp') {
    await start('gobgpd', ['gobgpd', '-f', confPath, '-l', 'warn']);
    await waitFor('gobgpd', () => ok(['gobgp', 'global']));
  } else {
    const frrDir = join(tor.dir, 'run-frr');
    const uid = Number((await run('id', ['-u', 'frr'])).stdout.trim());
    const gid = Number((await run('id', ['-g', 'frr'])).stdout.trim());
    chownSync(frrDir, uid, gid);
    const zconf = join(tor.dir, 'zebra.conf');
    writeFileSync(zconf, 'hostname tor\n');
    chmodSync(zconf, 0o644);
    await start('zebra', ['/usr/lib/frr/zebra', '-f', zconf, '-i', '/run/frr/zebra.pid']);
    await waitFor('zebra', () => ok(['test', '-S', '/run/frr/zserv.api']));
    await start('bgpd', ['/usr/lib/frr/bgpd', '-f', confPath, '-i', '/run/frr/bgpd.pid', '-p', '179']);
    await waitFor('bgpd', () => ok(['vtysh', '-c', 'show bgp summary']));
  }
}
