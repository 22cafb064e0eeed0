// tabbyctl entry point (wiring only): runs the command tree against the real process.
// No top-level await: the bundle is CommonJS (scripts/bundle.mjs) for fast start.
import { readFileSync } from 'node:fs';
import { STDIN_SOURCE, decodeUtf8 } from './input.js';
import { runTabbyctl } from './program.js';

// `tabbyctl get ... | head`: a reader that stops early is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

void runTabbyctl(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  readStdin: () => decodeUtf8(readFileSync(0), STDIN_SOURCE),
}).then((code) => {
  process.exitCode = code;
});
