/**
 * Benchmarks must never talk to anything but this machine. `guardLoopback()` watches every TCP
 * client socket the process opens (node:http, undici's fetch, ws, grpc-js: all go through
 * `net.connect`, which publishes on the `net.client.socket` diagnostics channel); a socket that
 * connects to a non-loopback address is destroyed at once and recorded, so the benchmark can print
 * what tried (and fail loudly rather than report figures measured against a remote host).
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

export interface LoopbackGuard {
  /** Sockets that connected (and were destroyed) to a non-loopback address, `host:port`. */
  readonly violations: string[];
  /** Client sockets seen so far. */
  sockets(): number;
}

let installed: { violations: string[]; count: number } | null = null;

export function isLoopback(address: string): boolean {
  return (
    address === '::1' ||
    address.startsWith('127.') ||
    address.startsWith('::ffff:127.') ||
    address === 'localhost'
  );
}

/** Install once per process (later calls return the same guard). */
export function guardLoopback(): LoopbackGuard {
  if (installed === null) {
    const state = { violations: [] as string[], count: 0 };
    installed = state;
    subscribe('net.client.socket', (message) => {
      const socket = (message as { socket?: Socket }).socket;
      if (socket === undefined) return;
      state.count += 1;
      socket.once('connect', () => {
        const address = socket.remoteAddress ?? '';
        if (address !== '' && !isLoopback(address)) {
          state.violations.push(`${address}:${socket.remotePort ?? '?'}`);
          socket.destroy(new Error(`benchmark: connection to non-loopback ${address} refused`));
        }
      });
    });
  }
  const state = installed;
  return { violations: state.violations, sockets: () => state.count };
}
