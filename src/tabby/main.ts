// tabby entry point (wiring only): each subcommand is registered from its own file.
import { Command } from 'commander';
import { TABBY_VERSION } from '../version.js';
import { registerControllersCommand } from './controllers.js';
import { registerNodeCommand } from './node.js';
import { registerLabCommands } from '../lab/index.js';

const program = new Command('tabby')
  .description('Tabby: container networking and network policy, speaking Calico\'s API')
  .version(TABBY_VERSION, '-v, --version', 'print the version')
  .showHelpAfterError();

registerNodeCommand(program);
registerControllersCommand(program);
registerLabCommands(program);

program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`tabby: ${err.message}\n`);
  process.exitCode = 1;
});
