// Entry point of `tabby bgp run` alone (wiring only). dist/bin/tabby.cjs hands `tabby bgp run` to
// this bundle, which holds the BGP speaker and its command but none of the other subcommands
// (node agent, lab, controllers, datastore clients): the long-running daemon then does not keep
// the whole CLI's code in memory (idle resident memory ~47 MB instead of ~62 MB; BENCHMARKS.md).
import { Command } from 'commander';
import { TABBY_VERSION } from '../version.js';
import { registerBgpCommand } from './bgp.js';

const program = new Command('tabby')
  .description('Tabby: container networking and network policy, speaking Calico\'s API')
  .version(TABBY_VERSION, '-v, --version', 'print the version')
  .showHelpAfterError();

registerBgpCommand(program);

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`tabby: ${err.message}\n`);
  process.exitCode = 1;
});
