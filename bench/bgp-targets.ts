// Speakers the BGP benchmark can put under test, each as a config function: given the addresses
// of the run it writes its configuration into a scratch directory and says how to start it and
// how to tell it is ready. All act as a route reflector (cluster ID = router ID) for AS 65000:
// receivers are RR clients, injectors plain iBGP peers, every session passive on its side.
// Adding a speaker is adding one function to TARGETS.

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface TargetRun {
  readonly speaker: string;
  readonly asn: number;
  readonly injectors: readonly string[];
  readonly receivers: readonly string[];
  /** Scratch directory for config, sockets and logs. */
  readonly dir: string;
}

export interface TargetStart {
  /** Command run inside the speaker's namespace; its process must be the speaker (exec, no fork). */
  readonly argv: readonly string[];
  /** Resolves true once the speaker accepts connections (polled). */
  readonly ready?: () => boolean;
}

export interface Target {
  readonly name: string;
  /** Why it cannot run here, or undefined when it can. */
  readonly unavailable: () => string | undefined;
  readonly configure: (run: TargetRun) => TargetStart;
}

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

const bird: Target = {
  name: 'bird',
  unavailable: () => (has('bird') ? undefined : 'bird (Debian package bird2) is not installed'),
  configure: (run) => {
    const conf = join(run.dir, 'bird.conf');
    const sock = join(run.dir, 'bird.ctl');
    const peer = (name: string, ip: string, client: boolean) => `protocol bgp ${name} from peers { neighbor ${ip} as ${run.asn};${client ? ' rr client;' : ''} }`;
    writeFileSync(
      conf,
      [
        `router id ${run.speaker};`,
        `log "${join(run.dir, 'bird.log')}" { error, warning };`,
        'protocol device { scan time 10; }',
        'template bgp peers {',
        `  local ${run.speaker} as ${run.asn};`,
        '  passive on;',
        '  direct;',
        `  rr cluster id ${run.speaker};`,
        '  hold time 90;',
        '  ipv4 { import all; export all; gateway direct; };',
        '}',
        ...run.receivers.map((ip, i) => peer(`r${i}`, ip, true)),
        ...run.injectors.map((ip, i) => peer(`i${i}`, ip, false)),
        '',
      ].join('\n'),
    );
    return {
      argv: ['bird', '-f', '-c', conf, '-s', sock],
      ready: () => spawnSync('birdc', ['-s', sock, 'show', 'status']).status === 0,
    };
  },
};

const gobgp: Target = {
  name: 'gobgp',
  unavailable: () => (has('gobgpd') ? undefined : 'gobgpd (Debian package gobgpd) is not installed'),
  configure: (run) => {
    const conf = join(run.dir, 'gobgpd.toml');
    const neighbor = (ip: string, client: boolean) =>
      [
        '[[neighbors]]',
        '  [neighbors.config]',
        `    neighbor-address = "${ip}"`,
        `    peer-as = ${run.asn}`,
        '  [neighbors.transport.config]',
        '    passive-mode = true',
        ...(client ? ['  [neighbors.route-reflector.config]', '    route-reflector-client = true', `    route-reflector-cluster-id = "${run.speaker}"`] : []),
        '  [[neighbors.afi-safis]]',
        '    [neighbors.afi-safis.config]',
        '      afi-safi-name = "ipv4-unicast"',
      ].join('\n');
    writeFileSync(
      conf,
      [
        '[global.config]',
        `  as = ${run.asn}`,
        `  router-id = "${run.speaker}"`,
        '  port = 179',
        `  local-address-list = ["${run.speaker}"]`,
        ...run.receivers.map((ip) => neighbor(ip, true)),
        ...run.injectors.map((ip) => neighbor(ip, false)),
        '',
      ].join('\n'),
    );
    // The gRPC API listens inside the speaker's namespace only.
    return { argv: ['gobgpd', '-f', conf, '-t', 'toml', '-l', 'warn', '--api-hosts', `${run.speaker}:50051`] };
  },
};

/** Tabby's own speaker (`tabby bgp run`), with the config format of the README's BGP section. */
const tabby: Target = {
  name: 'tabby',
  unavailable: () => {
    const bin = join(repo, 'dist/bin/tabby.cjs');
    if (!existsSync(bin)) return 'dist/bin/tabby.cjs is not built';
    // Without the command, commander prints the top-level help (also with status 0).
    const help = spawnSync(process.execPath, [bin, 'bgp', 'run', '--help'], { encoding: 'utf8' });
    return help.status === 0 && /--config/.test(help.stdout) ? undefined : '`tabby bgp run` does not exist in this build (the speaker is being built on another branch)';
  },
  configure: (run) => {
    const conf = join(run.dir, 'tabby-bgp.yaml');
    const peer = (ip: string, client: boolean) => `  - { peerIP: ${ip}, asNumber: ${run.asn}, passive: true, routeReflectorClient: ${client} }`;
    writeFileSync(
      conf,
      [
        `asNumber: ${run.asn}`,
        `routerID: ${run.speaker}`,
        `routeReflectorClusterID: ${run.speaker}`,
        `listenAddress: ${run.speaker}`,
        'listenPort: 179',
        'kernel: none',
        `statusSocket: ${join(run.dir, 'tabby-bgp.sock')}`,
        'logLevel: warn',
        'peers:',
        ...run.receivers.map((ip) => peer(ip, true)),
        ...run.injectors.map((ip) => peer(ip, false)),
        '',
      ].join('\n'),
    );
    // Started as a user starts it: the launcher bin/tabby, which gives the daemon its Node
    // options (a small young generation). BGP_BENCH_NODE_ARGS (e.g. "--cpu-prof
    // --cpu-prof-dir=/tmp/prof") runs the bundle with exactly those options instead.
    const nodeArgs = process.env['BGP_BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
    if (nodeArgs.length > 0) return { argv: [process.execPath, ...nodeArgs, join(repo, 'dist/bin/tabby.cjs'), 'bgp', 'run', '--config', conf] };
    return { argv: [join(repo, 'bin/tabby'), 'bgp', 'run', '--config', conf] };
  },
};

export const TARGETS: readonly Target[] = [bird, gobgp, tabby];
