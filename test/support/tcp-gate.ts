/**
 * A TCP gate in front of a local server: clients connect to the gate's port and every connection is
 * piped to the backend. `down()` cuts every open connection (both ends destroyed, as a server
 * process dying does) and stops listening, so new connections are refused; `up()` listens on the
 * same port again.
 *
 * Test support for outages: with the gate down nothing can reach the backend, so the backend can
 * be exported, restarted and imported without a client's write slipping in between, and what the
 * clients see is exactly a dependency going away and coming back on the same address.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpGate {
  /** The port clients use. */
  readonly port: number;
  /** Cut every connection and refuse new ones. */
  down(): Promise<void>;
  /** Accept connections again (same port). */
  up(): Promise<void>;
  /** Point the gate at another backend port (takes effect for new connections). */
  retarget(backendPort: number): void;
  readonly isUp: boolean;
  /** Connections cut by `down()` so far. */
  readonly cut: number;
  close(): Promise<void>;
}

async function listen(server: Server, port: number): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(addr !== null && typeof addr !== 'string' ? addr.port : port);
    });
  });
}

/** Open a gate on a free port (or `port`) to `127.0.0.1:<backendPort>`. */
export async function openTcpGate(backendPort: number, port = 0): Promise<TcpGate> {
  let backend = backendPort;
  const sockets = new Set<Socket>();
  let cut = 0;
  const serve = (client: Socket) => {
    const upstream = createConnection({ host: '127.0.0.1', port: backend });
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  };
  let server = createServer(serve);
  const bound = await listen(server, port);
  let isUp = true;
  const gate: TcpGate = {
    port: bound,
    get isUp() {
      return isUp;
    },
    get cut() {
      return cut;
    },
    retarget(p) {
      backend = p;
    },
    async down() {
      if (!isUp) return;
      isUp = false;
      const closed = new Promise<void>((r) => server.close(() => r()));
      cut += sockets.size;
      for (const s of sockets) s.destroy();
      sockets.clear();
      await closed;
    },
    async up() {
      if (isUp) return;
      server = createServer(serve);
      await listen(server, bound);
      isUp = true;
    },
    async close() {
      await gate.down();
    },
  };
  return gate;
}

/**
 * An emulator's client address: through a new gate to `port` when `gated`, else the port itself. A
 * gate that cannot open stops the emulator (`stop`) before the error goes on.
 */
export async function gatedAddress(
  port: number,
  gated: boolean,
  stop: () => Promise<void>,
): Promise<{ host: string; gate: TcpGate | null }> {
  if (!gated) return { host: `127.0.0.1:${port}`, gate: null };
  try {
    const gate = await openTcpGate(port);
    return { host: `127.0.0.1:${gate.port}`, gate };
  } catch (err) {
    await stop();
    throw err;
  }
}
