/**
 * The durable Firestore emulator's restart (test/support/firestore-emulator.ts) behind its TCP gate:
 * writes racing the restart either fail for their client or survive it — a write the client was told
 * had committed is never lost by the restart itself (the chaos suite's dependency-restart scenario
 * relies on this to measure the platform, not the harness).
 */
import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startOrSkip } from '../../support/emulator-guard.ts';
import { startFirestoreEmulator } from '../../support/firestore-emulator.ts';
import { openTcpGate } from '../../support/tcp-gate.ts';

const emu = await startOrSkip('Firestore', () =>
  startFirestoreEmulator({ projectId: 'demo-restart', durable: true }),
);

describe('TCP gate', () => {
  it('cuts open connections, refuses new ones while down and accepts again on the same port', async () => {
    const { createServer } = await import('node:net');
    const echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const backend = (echo.address() as { port: number }).port;
    const gate = await openTcpGate(backend);
    try {
      const talk = () =>
        new Promise<string>((resolve, reject) => {
          const c = createConnection({ host: '127.0.0.1', port: gate.port }, () => c.write('ping'));
          c.once('data', (d) => {
            resolve(d.toString());
            c.destroy();
          });
          c.once('error', reject);
        });
      expect(await talk()).toBe('ping');
      const open = createConnection({ host: '127.0.0.1', port: gate.port });
      await new Promise((r) => open.once('connect', r));
      const closed = new Promise((r) => open.once('close', r));
      await gate.down();
      await closed;
      expect(gate.cut).toBeGreaterThanOrEqual(1);
      await expect(talk()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await gate.up();
      expect(await talk()).toBe('ping');
    } finally {
      await gate.close();
      echo.close();
    }
  });
});

describe.skipIf(!emu.ok)('durable Firestore emulator restart', () => {
  afterAll(() => (emu.ok ? emu.value.stop() : undefined));

  it('keeps every write its client saw commit, with writes racing the restart', async () => {
    if (!emu.ok) return;
    const db = emu.value.client();
    const col = db.collection('restart-race');
    const committed: string[] = [];
    const failed: string[] = [];
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        try {
          await col.doc(id).set({ w, i });
          committed.push(id);
        } catch {
          failed.push(id);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    // Writes flowing first (the first call opens the gRPC channel).
    for (let waited = 0; committed.length < 20 && waited < 30_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    const before = committed.length;
    const downMs = await emu.value.restart(2_000);
    for (let waited = 0; committed.length < before + 20 && waited < 30_000; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    stop = true;
    await Promise.all(writers);
    expect(before).toBeGreaterThan(0);
    expect(downMs).toBeGreaterThanOrEqual(2_000);
    const after = new Set((await col.get()).docs.map((d) => d.id));
    const lost = committed.filter((id) => !after.has(id));
    expect(lost).toEqual([]);
    // Writes went on after the restart.
    expect(committed.length).toBeGreaterThan(before);
  }, 120_000);
});
