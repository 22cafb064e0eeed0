// tabbyctl entry point (wiring only): runs the command tree against the real process.
import { readFileSync } from 'node:fs';
import { runTabbyctl } from './program.js';

const code = await runTabbyctl(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin: () => readFileSync(0, 'utf8'),
});
process.exitCode = code;
