// A TCP relay on a local port forwarding every connection to a target port, so a test
// can cut a replication link at the network level (both sockets destroyed, as a dropped
// connection) and keep it down for a while (new connections are accepted and closed at
// once, as a peer that is unreachable), independently of any server command.
//
// Invariants: the relay only ever closes sockets it accepted or opened itself; `close`
// destroys them all and stops listening.
import net from 'node:net';

export class TcpRelay {
  readonly #server: net.Server;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  #blocked = false;
  /** Connections accepted so far (refused ones included). */
  accepted = 0;

  private constructor(server: net.Server, readonly port: number, readonly targetPort: number) {
    this.#server = server;
  }

  static async start(port: number, targetPort: number, host = '127.0.0.1'): Promise<TcpRelay> {
    const server = net.createServer();
    const relay = new TcpRelay(server, port, targetPort);
    server.on('connection', (client) => relay.#onConnection(client, host));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => resolve());
    });
    return relay;
  }

  #onConnection(client: net.Socket, host: string): void {
    this.accepted++;
    if (this.#blocked) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ port: this.targetPort, host });
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = (): void => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Live relayed connections. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Destroys every relayed connection (both ends see the link drop). */
  cut(): number {
    const n = this.#pairs.size;
    for (const [a, b] of [...this.#pairs]) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
    return n;
  }

  /** While blocked, new connections are closed as soon as they arrive. */
  block(on: boolean): void {
    this.#blocked = on;
  }

  async close(): Promise<void> {
    this.block(true);
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
