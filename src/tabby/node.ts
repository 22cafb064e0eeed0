// `tabby node` (the per-host supervisor, run as root) and the hidden `tabby agent` it forks.
// Options mirror calico/node's environment variables; each option's help names its variable.
import { type Command, Option } from 'commander';
import { runAgentProcess, runBgpProcess } from '../agent/index.js';
import { prepareNode, superviseNode } from '../agent/index.js';
import { type NodeFlags, resolveNodeOptions } from '../agent/index.js';
import { createLogger, parseLogLevel } from '../util/log.js';

export function registerNodeCommand(program: Command): void {
  program
    .command('node')
    .description(
      'run this host\'s Tabby node: register its Node resource, install the CNI plugins and config, ' +
        'serve the CNI socket through the supervised dataplane agent, and serve /liveness, /readiness and /metrics',
    )
    .option('--nodename <name>', 'node name (env NODENAME, HOSTNAME; default: the hostname)')
    .option('--ip <addr>', 'IPv4 address: autodetect, none, an IP or a CIDR (env IP; default: autodetect unless the Node has one)')
    .option('--ip6 <addr>', 'IPv6 address: autodetect, none, an IP or a CIDR (env IP6; default: none)')
    .option('--ip-autodetection-method <method>', 'first-found, interface=REGEX, skip-interface=REGEX, cidr=CIDR or can-reach=DEST (env IP_AUTODETECTION_METHOD)')
    .option('--ip6-autodetection-method <method>', 'as --ip-autodetection-method, for IPv6 (env IP6_AUTODETECTION_METHOD)')
    .option('--node-labels <k=v,...>', 'labels for the Node resource, added to kubernetes.io/hostname (env TABBY_NODE_LABELS)')
    .addOption(new Option('--datastore-type <type>', 'etcdv3 or memory (env DATASTORE_TYPE)').choices(['etcdv3', 'memory']))
    .option('--etcd-endpoints <urls>', 'comma-separated etcd URLs (env ETCD_ENDPOINTS; default http://127.0.0.1:2379)')
    .option('--etcd-ca-cert-file <path>', 'CA bundle for etcd TLS (env ETCD_CA_CERT_FILE)')
    .option('--etcd-cert-file <path>', 'client certificate for etcd (env ETCD_CERT_FILE)')
    .option('--etcd-key-file <path>', 'client key for etcd (env ETCD_KEY_FILE)')
    .option('--cni-conf-dir <dir>', 'where the CNI conflist goes (env CNI_NET_DIR; default /etc/cni/net.d)')
    .option('--cni-conf-name <file>', 'conflist file name (env CNI_CONF_NAME; default 10-tabby.conflist)')
    .option('--cni-bin-dir <dir>', 'where the tabby and tabby-ipam plugins go (env CNI_BIN_DIR; default /opt/cni/bin)')
    .option('--cni-network-name <name>', 'CNI network name (env CNI_NETWORK_NAME; default k8s-pod-network)')
    .option('--cni-socket <path>', 'the agent\'s CNI socket (env TABBY_CNI_SOCKET; default /run/tabby/cni.sock)')
    .option('--mtu <n>', 'workload interface MTU (env CNI_MTU; default 0: chosen by the agent, the VXLAN MTU when a pool uses VXLAN, else the underlay interface\'s)')
    .option('--assign-ipv4 <bool>', 'conflist ipam.assign_ipv4 (env TABBY_ASSIGN_IPV4; default true)')
    .option('--assign-ipv6 <bool>', 'conflist ipam.assign_ipv6 (env TABBY_ASSIGN_IPV6; default false)')
    .option('--cni-log-level <level>', 'conflist log_level (env TABBY_CNI_LOG_LEVEL; default info)')
    .option('--cni-log-file <path>', 'conflist log_file_path (env TABBY_CNI_LOG_FILE)')
    .option('--policy-type <type>', 'conflist policy.type; k8s gives endpoints kns./ksa. profiles (env TABBY_CNI_POLICY_TYPE; default k8s)')
    .option('--no-install-cni', 'do not write the conflist or install the plugin executables')
    .option('--state-dir <dir>', 'node state: nodename file, CNI attachment records (env TABBY_STATE_DIR; default /var/lib/tabby)')
    .option('--networking-backend <name>', 'bird: run the BGP daemon (mesh, route reflectors, peers from BGPConfiguration/BGPPeer); vxlan or none: no BGP (env CALICO_NETWORKING_BACKEND; default vxlan)')
    .option('--health-enabled <bool>', 'serve /liveness, /readiness and /metrics (env TABBY_HEALTH_ENABLED, FELIX_HEALTHENABLED; default true)')
    .option('--health-host <host>', 'address for the health endpoints (env TABBY_HEALTH_HOST, FELIX_HEALTHHOST; default 127.0.0.1)')
    .option('--health-port <port>', 'port for the health endpoints, 0 = any free one (env TABBY_HEALTH_PORT, FELIX_HEALTHPORT; default 9099)')
    .option('--log-level <level>', 'debug, info, warn or error (env TABBY_LOG_LEVEL, LOG_LEVEL; default info)')
    .action(async (flags: NodeFlags) => {
      const opts = resolveNodeOptions(flags);
      const log = createLogger({ component: 'node', node: opts.nodename }, { level: parseLogLevel(opts.logLevel) });
      await prepareNode(opts, log);
      const node = await superviseNode(opts, log, process.argv[1]!);
      const stop = (signal: string) => {
        log.info('stopping', { signal });
        void node.stop().then(() => process.exit(0));
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });

  program
    .command('bgp-agent', { hidden: true })
    .description('the BGP daemon process of a node; `tabby node` starts it with CALICO_NETWORKING_BACKEND=bird')
    .action(async () => {
      await runBgpProcess();
    });

  program
    .command('agent', { hidden: true })
    .description('the dataplane agent process; `tabby node` starts it')
    .action(async () => {
      await runAgentProcess();
    });
}
