// Test support, run as a process inside a test's network namespace, joining a TCP port there to a
// unix socket file (which both namespaces can see) — the only bridge between a test's namespace
// and the root one; no link joins them.
//   node socket-bridge.js tcp-to-unix <listen-host> <listen-port> <unix-socket-path>
//   node socket-bridge.js unix-to-tcp <unix-socket-path> <connect-host> <connect-port>
// Prints "listening" once ready; exits when its stdin closes (so it never outlives the test).
import net from 'node:net';
import { joinSockets } from '../../util/join-sockets.js';

const [mode, a, b, c] = process.argv.slice(2);
if ((mode !== 'tcp-to-unix' && mode !== 'unix-to-tcp') || !a || !b || !c) {
  process.stderr.write('usage: socket-bridge.js tcp-to-unix <host> <port> <unix-path> | unix-to-tcp <unix-path> <host> <port>\n');
  process.exit(2);
}
const server = net.createServer((client) => {
  joinSockets(client, mode === 'tcp-to-unix' ? net.connect(c) : net.connect(Number(c), b));
});
const ready = () => process.stdout.write('listening\n');
if (mode === 'tcp-to-unix') server.listen(Number(b), a, ready);
else server.listen(a, ready);
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
