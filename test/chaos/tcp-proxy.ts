// A TCP proxy the chaos controller owns, one per direction and channel between two gateways (consensus
// WebSocket, forwarded HTTP). `cut()` drops every open connection and refuses new ones until `heal()`:
// a network partition as both processes see it (resets and refused dials, no lost bytes mid-stream).
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Open connections kept per proxy; a gateway holds one or two per peer, more means a leak. */
const CONNECTIONS_MAX = 256;

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private isCut = false;

  readonly listenPort: number;
  readonly targetPort: number;
  readonly host: string;

  constructor(listenPort: number, targetPort: number, host = '127.0.0.1') {
    this.listenPort = listenPort;
    this.targetPort = targetPort;
    this.host = host;
  }

  get cutNow(): boolean {
    return this.isCut;
  }

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, this.host, () => resolve());
    });
  }

  cut(): void {
    this.isCut = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  heal(): void {
    this.isCut = false;
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.isCut || this.sockets.size >= CONNECTIONS_MAX) {
      client.destroy();
      return;
    }
    const upstream = connect(this.targetPort, this.host);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
