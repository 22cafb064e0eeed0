// Builds the tabbyctl command tree and runs it. Each command group registers itself here with
// the shared context (context.ts documents the API a group gets). To add a group, import its
// register function and call it in buildProgram — e.g. the IPAM helper's
// `registerIpamCommands(program, ctx)` from ./ipam.js.
//
// runTabbyctl never calls process.exit: it returns the exit code, so tests can run the whole
// CLI in-process with their own I/O, and main.ts sets process.exitCode.

import { Command, CommanderError } from 'commander';
import { TABBY_VERSION } from '../version.js';
import { type CtlContext, type CtlIO, type DatastoreOpener, createContext } from './context.js';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes.js';
import { registerCompletionCommand } from './completion.js';
import { registerConvertCommand } from './convert.js';
import { registerGetCommand } from './get.js';
import { registerIpamCommands } from './ipam.js';
import { registerLabelCommand } from './label.js';
import { registerPatchCommand } from './patch.js';
import { registerPolicyCommands } from './policy.js';
import { registerResourceCommands } from './resource-commands.js';
import { registerVersionCommand } from './version.js';

const DATASTORE_HELP = `Datastore (every command that reads or writes):
  flags --datastore-type, --etcd-endpoints, --etcd-ca-cert-file, --etcd-cert-file, --etcd-key-file,
  or the environment DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_CA_CERT_FILE, ETCD_CERT_FILE, ETCD_KEY_FILE,
  or a calicoctl-style config file (-c FILE, default /etc/tabby/tabbyctl.cfg):
    apiVersion: projectcalico.org/v3
    kind: CalicoAPIConfig
    spec:
      datastoreType: etcdv3
      etcdEndpoints: https://127.0.0.1:2379
      etcdCACertFile: /etc/tabby/ca.pem`;

export function buildProgram(ctx: CtlContext): Command {
  const program = new Command('tabbyctl')
    .description("Manage Tabby's Calico-compatible resources (projectcalico.org/v3) in the datastore")
    .version(`v${TABBY_VERSION}`, '--version', 'print the client version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  tabbyctl apply -f pools.yaml
  tabbyctl get ippools -o wide
  tabbyctl get networkpolicy -A -l 'app == "web"'
  tabbyctl patch ippool pool-a -p '{"spec":{"natOutgoing":true}}'
  tabbyctl label ippool pool-a env=prod --overwrite
  tabbyctl delete ippool/pool-a
  tabbyctl convert -f k8s-netpol.yaml
  source <(tabbyctl completion bash)

${DATASTORE_HELP}

${EXIT_CODES_HELP}
`,
    );
  registerResourceCommands(program, ctx);
  registerGetCommand(program, ctx);
  registerPatchCommand(program, ctx);
  registerLabelCommand(program, ctx);
  registerConvertCommand(program, ctx);
  registerIpamCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerVersionCommand(program, ctx);
  // Last, so the script it prints knows every command registered before it.
  registerCompletionCommand(program, ctx);
  return program;
}

/** Run tabbyctl with `args` (without node and script); resolves to the exit code. */
export async function runTabbyctl(args: readonly string[], io: CtlIO, open?: DatastoreOpener): Promise<number> {
  const ctx = createContext(io, open);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Invalid;
    return ctx.report(err);
  }
  return ctx.exitCode;
}
