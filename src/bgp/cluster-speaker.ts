// The rendered cluster configuration (bgp/cluster) as the Speaker's configuration. Timers are
// Calico's BIRD template's where they matter (connect retry 5 s, graceful restart on); the
// speaker installs nothing in the kernel itself in cluster mode: its best learned routes go to
// the agent's route reconciler, which owns the node's routes (protocol 80). A peer the renderer
// marks `bfd` gets a BFD session with the speaker's defaults (200 ms × 3). logSeverityScreen is
// not part of the speaker's configuration: it sets the level of the speaker's logger, live
// (`speakerLogLevel`), so changing it restarts no session. Passwords: the
// renderer names the secret key (Calico's password.secretKeyRef); `readPasswords` reads each
// through the reader it is given (the agent's: a file <secrets dir>/<name>/<key>), and a peer
// whose secret cannot be read is refused with the reason rather than run without its password.

import { formatCIDR } from '../ip/index.js';
import type { LogLevel } from '../util/log.js';
import type { NodeBgpConfig, RefusedPeer, SecretRef } from './cluster/index.js';
import type { PeerConfig, SpeakerConfig } from './config.js';
import { DEFAULT_BFD, DEFAULT_STATUS_SOCKET, Password, passwordProblem } from './config.js';

/** A secret's name or key as one path component: no separators, not `.` or `..`. */
const safeComponent = (t: string): boolean => t.length > 0 && !t.includes('/') && !t.includes('\0') && t !== '.' && t !== '..';

/**
 * The passwords of the rendered peers, by peer name, read with `read` (which throws when it
 * cannot). Peers whose secret cannot be read, or does not hold a usable key, move to `refused`.
 */
export function readPasswords(c: NodeBgpConfig, read: (ref: SecretRef) => string): { config: NodeBgpConfig; passwords: Map<string, Password> } {
  const passwords = new Map<string, Password>();
  const refused: RefusedPeer[] = [];
  const peers = c.peers.filter((p) => {
    if (!p.password) return true;
    const { name, key } = p.password;
    const where = `${p.source ? `BGPPeer ${p.source}` : 'BGPConfiguration default (mesh)'} password secret ${name} key ${key}`;
    let problem: string | undefined;
    if (!safeComponent(name) || !safeComponent(key)) problem = 'is not a valid secret name and key';
    else {
      try {
        const text = read(p.password);
        problem = passwordProblem(text);
        if (!problem) passwords.set(p.name, new Password(text));
      } catch (e) {
        problem = `cannot be read: ${(e as Error).message}`;
      }
    }
    if (problem) refused.push({ name: p.name, peerType: p.peerType, ...(p.source ? { source: p.source } : {}), address: p.address, reason: `${where} ${problem}` });
    return !problem;
  });
  if (refused.length === 0) return { config: c, passwords };
  return { config: { ...c, peers, refused: [...c.refused, ...refused] }, passwords };
}

/**
 * BGPConfiguration logSeverityScreen (Calico's values, any case) → the speaker's log level.
 * Debug is what BIRD's `debug all` is in Calico (every FSM event, not only state changes); Trace
 * is Debug; Fatal and Panic keep errors only, since the speaker has no more severe level. An empty
 * or unknown value is Info, Calico's default.
 */
export function speakerLogLevel(screen: string | undefined): LogLevel {
  switch ((screen ?? '').toLowerCase()) {
    case 'trace':
    case 'debug':
      return 'debug';
    case 'warning':
      return 'warn';
    case 'error':
    case 'fatal':
    case 'panic':
      return 'error';
    default:
      return 'info';
  }
}

const idNumber = (dotted: string): number => dotted.split('.').reduce((n, o) => n * 256 + Number(o), 0);

export function clusterSpeakerConfig(c: NodeBgpConfig, opts: { statusSocket?: string; holdTime?: number; passwords?: ReadonlyMap<string, Password> } = {}): SpeakerConfig {
  const peers: PeerConfig[] = c.peers.map((p) => ({
    name: p.name,
    address: p.address,
    port: p.port,
    asNumber: p.asNumber,
    ...(p.localAddress ? { localAddress: p.localAddress } : {}),
    passive: p.passive,
    routeReflectorClient: p.routeReflectorClient,
    nextHopMode: p.nextHopMode,
    holdTime: opts.holdTime ?? 90,
    keepaliveTime: p.keepaliveTime,
    connectRetryTime: 5,
    delayOpenTime: 0,
    families: [p.address.family === 4 ? 'ipv4' : 'ipv6'],
    gracefulRestart: true,
    maxRestartTime: Math.min(p.maxRestartTime, 4095),
    importFilter: p.importFilter,
    exportFilter: p.exportFilter,
    // BFD (annotation tabby.dev/bfd: "true" on the BGPPeer, or on BGPConfiguration default for the mesh).
    ...(p.bfd ? { bfd: DEFAULT_BFD } : {}),
    ...(opts.passwords?.get(p.name) ? { password: opts.passwords.get(p.name)! } : {}),
    ...(p.ttlSecurity ? { ttlSecurity: p.ttlSecurity } : {}),
  }));
  const tags = new Map(c.originate.filter((o) => o.communities.length + o.largeCommunities.length > 0).map((o) => [formatCIDR(o.prefix), { communities: o.communities, largeCommunities: o.largeCommunities }]));
  return {
    asNumber: c.asNumber,
    routerID: idNumber(c.routerID),
    routeReflectorClusterID: idNumber(c.routeReflectorClusterID ?? c.routerID),
    ...(c.listenAddress ? { listenAddress: c.listenAddress } : {}),
    listenPort: c.listenPort,
    ...(c.ipv6Address ? { nextHopV6: c.ipv6Address } : {}),
    originate: c.originate.map((o) => o.prefix),
    ...(tags.size > 0 ? { originateTags: tags } : {}),
    kernelResyncSeconds: 30,
    statusSocket: opts.statusSocket ?? DEFAULT_STATUS_SOCKET,
    gracefulRestartTime: Math.max(...c.peers.map((p) => p.maxRestartTime), 120),
    selectionDeferralTime: 60,
    updateDelayMs: 0,
    peers,
  };
}
