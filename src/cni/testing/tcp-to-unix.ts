// Test support, run as a process inside a test's network namespace:
//   node tcp-to-unix.js <listen-host> <listen-port> <unix-socket-path>
// accepts TCP connections there and forwards each to the unix socket, whose other end (in the
// test process, root netns) connects on to etcd. This lets an agent inside the namespace reach
// the test's etcd without any link between the namespaces: the socket file is the only bridge.
// Prints "listening" once ready; exits when its stdin closes (so it never outlives the test).
import net from 'node:net';

const [host, port, path] = process.argv.slice(2);
if (!host || !port || !path) {
  process.stderr.write('usage: tcp-to-unix.js <listen-host> <listen-port> <unix-socket-path>\n');
  process.exit(2);
}
const server = net.createServer((client) => {
  const upstream = net.connect(path);
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop).on('close', drop);
  upstream.on('error', drop).on('close', drop);
  client.pipe(upstream);
  upstream.pipe(client);
});
server.listen(Number(port), host, () => process.stdout.write('listening\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
