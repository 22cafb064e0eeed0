// tabbyctl completion bash|zsh: a shell completion script made from the command tree itself, so
// it never falls behind the commands: command and subcommand names, each command's flags, kinds
// after get/delete/label/patch, -o formats and file names after -f.

import type { Command } from 'commander';
import { KINDS } from '../model/index.js';
import type { CtlContext } from './context.js';
import { ExitCode } from './exit-codes.js';
import { UsageError } from './output.js';

const KIND_COMMANDS = ['get', 'delete', 'label', 'patch'];

const flagsOf = (cmd: Command): string[] => cmd.options.flatMap((o) => [o.short, o.long].filter((f): f is string => f !== undefined)).concat('--help');

/** Bash completion for the program `program` (also sourced by zsh through bashcompinit). */
export function bashCompletion(program: Command): string {
  const commands = program.commands;
  const kinds = [...new Set(KINDS.flatMap((k) => [k.singular, k.plural, ...k.shortNames]))].sort();
  const cases = commands
    .map((c) => {
      const subs = c.commands.map((s) => s.name());
      const subCases = c.commands.map((s) => `        ${s.name()}) opts="${flagsOf(s).join(' ')}" ;;`).join('\n');
      return [
        `    ${c.name()})`,
        `      opts="${flagsOf(c).join(' ')}"`,
        subs.length > 0 ? `      subs="${subs.join(' ')}"\n      case "\${COMP_WORDS[2]}" in\n${subCases}\n      esac` : '      subs=""',
        '      ;;',
      ].join('\n');
    })
    .join('\n');
  return `# tabbyctl bash completion: source <(tabbyctl completion bash)
_tabbyctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts="" subs=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${commands.map((c) => c.name()).join(' ')} --help --version" -- "$cur") )
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  case "$prev" in
    -o|--output) COMPREPLY=( $(compgen -W "yaml json wide name custom-columns= jsonpath=" -- "$cur") ); return ;;
    -f|--filename|-c|--config) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  elif [ "$COMP_CWORD" -eq 2 ] && [ -n "$subs" ]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
  elif [ "$COMP_CWORD" -eq 2 ] && [[ " ${KIND_COMMANDS.join(' ')} " == *" \${COMP_WORDS[1]} "* ]]; then
    COMPREPLY=( $(compgen -W "${kinds.join(' ')}" -- "$cur") )
  fi
}
complete -F _tabbyctl tabbyctl
`;
}

export function zshCompletion(program: Command): string {
  return `#compdef tabbyctl
# tabbyctl zsh completion: source <(tabbyctl completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashCompletion(program)}`;
}

export function registerCompletionCommand(program: Command, ctx: CtlContext): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh)')
    .argument('<shell>', 'bash or zsh')
    .addHelpText(
      'after',
      `
Examples:
  source <(tabbyctl completion bash)
  tabbyctl completion bash > /etc/bash_completion.d/tabbyctl
  echo 'source <(tabbyctl completion zsh)' >> ~/.zshrc
`,
    )
    .action(
      ctx.action(async (shell: string) => {
        if (shell === 'bash') ctx.out(bashCompletion(program));
        else if (shell === 'zsh') ctx.out(zshCompletion(program));
        else throw new UsageError(`completion is for bash or zsh, not "${shell}"`);
        return ExitCode.Ok;
      }),
    );
}
