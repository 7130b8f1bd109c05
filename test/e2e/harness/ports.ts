import { createServer, type Server } from 'node:net';

function listenEphemeral(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error(`expected a TCP address, got ${String(address)}`);
  }
  return address.port;
}

/**
 * Reserves `count` distinct free ports on 127.0.0.1 by binding them all at
 * once, then releases them. Another process could still grab one before it is
 * reused; where Envoy can bind port 0 instead (listeners, admin), prefer that
 * and read the bound port back from {@link EnvoyProcess}.
 */
export async function freePorts(count: number): Promise<number[]> {
  // Held open together so the kernel cannot hand out the same port twice.
  const servers = await Promise.all(Array.from({ length: count }, () => listenEphemeral()));
  const ports = servers.map(portOf);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** One free port on 127.0.0.1 (see {@link freePorts}). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('freePorts(1) returned no port');
  return port;
}
