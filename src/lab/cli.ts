// `tabby lab ...`: command-line wiring only (DESIGN.md §9). Progress goes to stderr, results to
// stdout; a LabError prints its message and exits 1 (2 for bad arguments).

import { dirname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { labDown } from './down.js';
import { LabError } from './errors.js';
import { formatStatus, labExec, labProbe, labProbeExternal, labProbePorts, labStatus } from './inspect.js';
import { readLabFile } from './manifest.js';
import { DEFAULT_ENCAPSULATION, DEFAULT_LAB, ENCAPSULATIONS, type Encapsulation, type TorFlavour, checkLabName, parseEncapsulation, parseTorFlavour, planLab } from './plan.js';
import { type PortProtocol, parsePortList, parseProbeProtocol } from './probe-plan.js';
import { Progress } from './progress.js';
import type { KindInfo } from '../model/index.js';
import { labUp, probeBinOf, requireRoot } from './up.js';
import { applyDocuments, checkPodsFit, labApply, labDelete, parsePruneKinds } from './workloads.js';

/** dist/bin of the running build: the bundle (dist/bin/tabby.cjs) is what `tabby` runs. */
const binDir = (): string => dirname(process.argv[1] ?? '.');
const out = (line: string): void => void process.stdout.write(line + '\n');
const err = (line: string): void => void process.stderr.write(line + '\n');

function intArg(what: string, min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!/^[0-9]+$/.test(text) || n < min || n > max) throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}`);
    return n;
  };
}

const nameOption = () =>
  new Option('--name <lab>', 'lab name (letters and digits)').default(process.env.TABBY_LAB ?? DEFAULT_LAB).argParser((t) => {
    try {
      return checkLabName(t);
    } catch (e) {
      throw new InvalidArgumentError((e as Error).message);
    }
  });
const outputOption = () => new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table');

async function guarded(work: () => Promise<number | void>): Promise<void> {
  try {
    const code = await work();
    if (typeof code === 'number') process.exitCode = code;
  } catch (e) {
    if (!(e instanceof LabError)) throw e;
    err(`tabby lab: ${e.message}`);
    process.exitCode = e.code === 'InvalidArgument' ? 2 : 1;
  }
}

export function registerLabCommands(program: Command): Command {
  const lab = program.command('lab').description('a multi-node cluster on this machine, in network and mount namespaces (root)');

  lab
    .command('up')
    .description('start a lab: switch, etcd, an external host and N nodes running `tabby node`; optionally pods from a file')
    .addOption(new Option('--nodes <n>', 'number of nodes').default(2).argParser(intArg('--nodes', 1, 50)))
    .addOption(new Option('--subnets <n>', 'underlay subnets (2: nodes alternate between 198.18.0.0/24 and 198.19.0.0/24)').default(1).argParser(intArg('--subnets', 1, 2)))
    .addOption(
      new Option('--encapsulation <mode>', `default pools' vxlanMode: VXLAN (Always), VXLANCrossSubnet (CrossSubnet: direct inside a subnet, VXLAN across), None (Never: every node runs the BGP daemon and routes come from BGP, full mesh by default)`)
        .default(DEFAULT_ENCAPSULATION)
        .argParser((t) => {
          try {
            return parseEncapsulation(t);
          } catch (e) {
            throw new InvalidArgumentError((e as Error).message);
          }
        }),
    )
    .addOption(new Option('--route-reflectors <n>', 'with --encapsulation None: the first N nodes become route reflectors (routeReflectorClusterID, label route-reflector=true, one BGPPeer) and the node-to-node mesh is turned off').default(0).argParser(intArg('--route-reflectors', 0, 50)))
    .addOption(
      new Option('--tor <router>', 'with --encapsulation None: add a top-of-rack router namespace `tor` (bird, gobgp or frr; AS 65010) peered with every node over eBGP through global BGPPeers').argParser((t) => {
        try {
          return parseTorFlavour(t);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      }),
    )
    .option('-f, --filename <file>', 'resources to apply once the nodes are ready (Namespaces, Pods, Deployments, …)')
    .addOption(nameOption())
    .addHelpText('after', `\nExamples:\n  tabby lab up --nodes 3 -f src/lab/samples/demo.yaml\n  tabby lab up --nodes 4 --subnets 2 --encapsulation VXLANCrossSubnet\n  tabby lab up --nodes 4 --encapsulation None --route-reflectors 2 --tor bird\n  tabby lab exec tor -- birdc show route\n(encapsulations: ${ENCAPSULATIONS.join(', ')})`)
    .action((o: { nodes: number; subnets: number; encapsulation: Encapsulation; routeReflectors: number; tor?: TorFlavour; filename?: string; name: string }) =>
      guarded(async () => {
        const file = o.filename === undefined ? { documents: [], workloads: [] } : readLabFile(o.filename);
        checkPodsFit(file.documents, planLab(o.name, o.nodes, o.subnets).nodes.map((n) => n.name));
        const progress = new Progress(err);
        let up;
        try {
          up = await labUp({ binDir: binDir(), progress }, { name: o.name, nodes: o.nodes, subnets: o.subnets, encapsulation: o.encapsulation, routeReflectors: o.routeReflectors, ...(o.tor ? { tor: o.tor } : {}) });
        } catch (e) {
          if (e instanceof LabError && e.code !== 'LabExists' && e.code !== 'NotRoot' && e.code !== 'InvalidArgument') {
            err(`tabby lab: the lab is left as it is for inspection; \`tabby lab down --name ${o.name}\` removes it`);
          }
          throw e;
        }
        const { state, cluster, release } = up;
        try {
          if (file.documents.length + file.workloads.length > 0) {
            await applyDocuments({ state, cluster, close: async () => {} }, probeBinOf({ binDir: binDir() }), file, out);
            progress.step(`applied ${o.filename}`);
          }
        } finally {
          await cluster.close();
          release();
        }
        const flag = o.name === DEFAULT_LAB ? '' : ` --name ${o.name}`;
        out(`Lab ${o.name} is up with ${state.plan.nodes.length} node(s). Look around: tabby lab status${flag}; tabby lab exec${flag} node-1 -- ip route. Remove it: tabby lab down${flag}`);
      }),
    );

  lab
    .command('apply')
    .description('apply resources; v1 Pods are scheduled onto nodes and wired through CNI, and apps/v1 Deployments, ReplicaSets, StatefulSets, DaemonSets and batch/v1 Jobs make their pods (re-apply to scale)')
    .requiredOption('-f, --filename <file>', 'YAML or JSON file, or - for stdin')
    .addOption(
      new Option('--prune <kinds>', 'then delete every stored resource of these kinds (KIND or APIVERSION/KIND, comma separated) that the file does not name').argParser((t) => {
        try {
          return parsePruneKinds(t);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      }),
    )
    .addOption(nameOption())
    .addHelpText('after', '\nExamples:\n  tabby lab apply -f src/lab/samples/demo.yaml\n  tabby lab apply -f scenario.yaml --prune networking.k8s.io/v1/NetworkPolicy,GlobalNetworkPolicy')
    .action((o: { filename: string; prune?: KindInfo[]; name: string }) =>
      guarded(() => (requireRoot(), labApply(o.name, probeBinOf({ binDir: binDir() }), o.filename, out, o.prune === undefined ? {} : { prune: o.prune }))),
    );

  lab
    .command('delete')
    .description('delete resources; a Pod is taken down through CNI DEL')
    .requiredOption('-f, --filename <file>', 'YAML or JSON file, or - for stdin')
    .addOption(nameOption())
    .action((o: { filename: string; name: string }) => guarded(() => (requireRoot(), labDelete(o.name, o.filename, out))));

  lab
    .command('status')
    .description('nodes (addresses, agent readiness) and pods (node, addresses)')
    .addOption(outputOption())
    .addOption(nameOption())
    .action((o: { output: string; name: string }) =>
      guarded(async () => {
        requireRoot();
        const s = await labStatus(o.name, probeBinOf({ binDir: binDir() }));
        out(o.output === 'json' ? JSON.stringify(s, null, 2) : formatStatus(s));
      }),
    );

  lab
    .command('probe')
    .description('reachability matrix between pods from real packets (rows = from, columns = to); with --external, each pod against the external host')
    .option('--external', 'probe the external host (TCP and UDP on --port, default 80) from every pod: {"pods","reached","seenSource"}')
    .addOption(new Option('--port <port>', 'port to probe (default: each target\'s first declared port)').argParser(intArg('--port', 1, 65535)))
    .addOption(new Option('--protocol <protocol>', 'TCP or UDP (default: the declared port\'s)').argParser((t) => {
      try {
        return parseProbeProtocol(t);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    }))
    .addOption(
      new Option('--ports <list>', 'several PORT/PROTOCOL pairs in one round (80/TCP,81/UDP): {"pods","probes":[{"port","protocol","matrix"}]}; not with --port, --protocol or --external').argParser((t) => {
        try {
          return parsePortList(t);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      }),
    )
    .addOption(new Option('--family <family>', 'address family to probe (default: each pod\'s primary address)').choices(['4', '6']))
    .addOption(new Option('--timeout-ms <ms>', 'per-probe timeout').default(1000).argParser(intArg('--timeout-ms', 10, 60_000)))
    .addOption(outputOption())
    .addOption(nameOption())
    .addHelpText('after', '\nExamples:\n  tabby lab probe --protocol UDP --port 53\n  tabby lab probe --ports 80/TCP,81/TCP,80/UDP --timeout-ms 500 -o json\n  tabby lab probe --external --port 80 -o json')
    .action((o: { external?: boolean; port?: number; protocol?: 'TCP' | 'UDP'; ports?: PortProtocol[]; family?: '4' | '6'; timeoutMs: number; output: string; name: string }) =>
      guarded(async () => {
        requireRoot();
        if (o.ports !== undefined) {
          if (o.external || o.port !== undefined || o.protocol !== undefined) throw new LabError('InvalidArgument', '--ports names every port and protocol itself: leave out --port, --protocol and --external');
          const m = await labProbePorts(o.name, probeBinOf({ binDir: binDir() }), o.ports, { timeoutMs: o.timeoutMs, ...(o.family === undefined ? {} : { family: Number(o.family) as 4 | 6 }) });
          if (o.output === 'json') return out(JSON.stringify(m));
          const w = Math.max(4, ...m.pods.map((p) => p.length));
          m.probes.forEach((p, k) => {
            out(`${k === 0 ? '' : '\n'}${p.port}/${p.protocol}`);
            out(`${'FROM \\ TO'.padEnd(w)}  ${m.pods.map((_, i) => String(i + 1).padStart(2)).join(' ')}`);
            m.pods.forEach((pod, i) => out(`${`${i + 1}. ${pod}`.padEnd(w + 4)}${p.matrix[i]!.map((ok) => (ok ? ' ✓' : ' .')).join(' ')}`));
          });
          return;
        }
        if (o.external) {
          const x = await labProbeExternal(o.name, probeBinOf({ binDir: binDir() }), { port: o.port ?? 80, family: o.family === '6' ? 6 : 4, timeoutMs: o.timeoutMs });
          if (o.output === 'json') return out(JSON.stringify(x));
          const w = Math.max(4, ...x.pods.map((p) => p.length));
          out(`${'POD'.padEnd(w)}  REACHED  SEEN SOURCE`);
          x.pods.forEach((p, i) => out(`${p.padEnd(w)}  ${(x.reached[i] ? 'yes' : 'no').padEnd(7)}  ${x.seenSource[i] ?? '-'}`));
          return;
        }
        const m = await labProbe(o.name, probeBinOf({ binDir: binDir() }), {
          timeoutMs: o.timeoutMs,
          ...(o.port === undefined ? {} : { port: o.port }),
          ...(o.protocol === undefined ? {} : { protocol: o.protocol }),
          ...(o.family === undefined ? {} : { family: Number(o.family) as 4 | 6 }),
        });
        if (o.output === 'json') return out(JSON.stringify(m));
        const w = Math.max(4, ...m.pods.map((p) => p.length));
        out(`${'FROM \\ TO'.padEnd(w)}  ${m.pods.map((_, i) => String(i + 1).padStart(2)).join(' ')}`);
        m.pods.forEach((p, i) => out(`${`${i + 1}. ${p}`.padEnd(w + 4)}${m.matrix[i]!.map((ok) => (ok ? ' ✓' : ' .')).join(' ')}`));
      }),
    );

  lab
    .command('exec')
    .description('run a command in a node\'s namespaces (NODE), a pod\'s network namespace (NS/POD) or the external host\'s (external)')
    .argument('<target>', 'node name (node-1), pod (namespace/name) or external')
    .argument('<command...>', 'the command, after --')
    .addOption(nameOption())
    .action((target: string, argv: string[], o: { name: string }) => guarded(() => (requireRoot(), labExec(o.name, target, argv))));

  lab
    .command('down')
    .description('remove every namespace, link, process, mount and file of the lab (also after a failed up)')
    .addOption(nameOption())
    .action((o: { name: string }) =>
      guarded(async () => {
        requireRoot();
        const r = await labDown(o.name);
        if (!r.found) return out(`lab ${o.name}: nothing to remove`);
        out(`Lab ${o.name} removed: ${r.processes} process(es), ${r.namespaces.length} network namespace(s), ${r.mounts.length} mount(s), state dir${r.dirs.length > 0 ? `, ${r.dirs.join(' ')}` : ''}`);
      }),
    );
  return lab;
}
