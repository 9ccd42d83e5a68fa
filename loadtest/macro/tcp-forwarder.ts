// The smallest Node proxy there is: every accepted connection is piped, byte for byte,
// to one upstream port (no parsing, no routing). The latency scenario puts it in
// front of redis-server to measure what one Node hop costs by itself, the floor under
// any proxy written in Node, Shoal's included.
//
//   node dist/loadtest/macro/tcp-forwarder.js LISTEN_PORT UPSTREAM_PORT [HOST]

import net from 'node:net';

const USAGE = 'usage: node tcp-forwarder.js LISTEN_PORT UPSTREAM_PORT [HOST]\n';
if (process.argv.includes('--help')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [listenArg, upstreamArg, hostArg] = process.argv.slice(2);
const listenPort = Number(listenArg);
const upstreamPort = Number(upstreamArg);
const host = hostArg ?? '127.0.0.1';
if (!Number.isInteger(listenPort) || !Number.isInteger(upstreamPort) || listenPort <= 0 || upstreamPort <= 0) {
  process.stderr.write(USAGE);
  process.exit(2);
}

const server = net.createServer((client) => {
  const upstream = net.connect(upstreamPort, host);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(listenPort, host, () => process.stdout.write(`forwarding ${host}:${listenPort} -> ${host}:${upstreamPort}\n`));
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
