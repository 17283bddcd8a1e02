/**
 * The audit trail: the pure hash chain (shared/audit/chain.ts), the store decorators that write it
 * (infra/audit), and `npm run audit -- verify` on a real platform's data folder, tampered in each
 * way a record can be: edited, deleted, reordered within a stream, forged with a fresh hash.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditOrderStore } from '../../../infra/audit/audited-stores.ts';
import { createPlatform, createPlatformOrderService, type Platform } from '../../../infra/compose.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { verifyDay } from '../../../scripts/audit.ts';
import {
  type AuditLine,
  type AuditRecord,
  chainRecords,
  eventEntry,
  GENESIS_HASH,
  hashOf,
  headsOf,
  orderStream,
  verifyChain,
} from '../../../shared/audit/chain.ts';
import type { AuditSink } from '../../../shared/audit/sink.ts';
import { EMBEDDED_CONFIG, parseConfig } from '../../../shared/config/schema.ts';
import type { OrderEvent } from '../../../shared/domain/events.ts';
import { handle } from '../../../shared/domain/order-machine.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import type { OrderInstruction } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { GLOBAL_SCOPE } from '../../../shared/ports/trading-state-store.ts';
import { createRoutedOrder } from '../../support/routed-order.ts';
import { instruction } from '../api/fake-order-service.ts';
import { putBook, putVenue } from '../app/harness.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DAY = '2025-07-01';
const T0 = isoToNanos(`${DAY}T12:00:00Z`);

function lines(records: AuditRecord[], file = 'f.jsonl'): AuditLine[] {
  return records.map((r, i) => ({ file, line: i + 1, text: JSON.stringify(r) }));
}

function sampleChain(stream = 'order:OP-1', n = 5): AuditRecord[] {
  return chainRecords(
    stream,
    Array.from({ length: n }, (_, i) => ({
      kind: i === 0 ? 'OrderReceived' : 'OrderFilled',
      ts_event: T0 + BigInt(i),
      payload: { operation_id: 'OP-1', quantity: `0.${i + 1}`, ts_event: T0 + BigInt(i) },
    })),
  );
}

describe('the hash chain', () => {
  it('links every record to the one before it, from GENESIS, with bigints as digits', () => {
    const chain = sampleChain();
    expect(chain.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(chain[0]?.prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < chain.length; i++) expect(chain[i]?.prev_hash).toBe(chain[i - 1]?.hash);
    for (const r of chain) expect(hashOf(r)).toBe(r.hash);
    expect((chain[0] as AuditRecord).payload).toMatchObject({ ts_event: String(T0) });
    expect(verifyChain(lines(chain))).toMatchObject({ ok: true, records: 5, streams: 1, first_broken: null });
  });

  it('does not care about line order or exact duplicates (at-least-once delivery)', () => {
    const a = sampleChain('order:A');
    const b = sampleChain('order:B', 3);
    const mixed = [b[2], a[4], a[0], b[0], a[2], a[1], b[1], a[3], a[1]] as AuditRecord[];
    expect(verifyChain(lines(mixed))).toMatchObject({ ok: true, records: 8, duplicates: 1, streams: 2 });
  });

  it('names the edited record', () => {
    const chain = sampleChain();
    const text = lines(chain);
    (text[2] as AuditLine).text = (text[2] as AuditLine).text.replace('"0.3"', '"3.0"');
    const r = verifyChain(text);
    expect(r.ok).toBe(false);
    expect(r.first_broken).toMatchObject({ line: 3, seq: 2, reason: expect.stringMatching(/edited/) });
  });

  it('names the record after a deleted one, and a record re-hashed after an edit breaks its successor', () => {
    const chain = sampleChain();
    const gap = verifyChain(lines(chain).filter((l) => l.line !== 3));
    expect(gap.first_broken).toMatchObject({ seq: 3, reason: expect.stringMatching(/gap: records 2..2/) });

    const forged = { ...(chain[1] as AuditRecord), payload: { operation_id: 'OP-1', quantity: '9' } };
    forged.hash = hashOf(forged);
    const r = verifyChain(lines([chain[0], forged, ...chain.slice(2)] as AuditRecord[]));
    expect(r.first_broken).toMatchObject({
      seq: 2,
      reason: expect.stringMatching(/prev_hash does not match/),
    });
  });

  it('refuses a second, different record for a seq and a line that is not a record', () => {
    const chain = sampleChain();
    const other = sampleChain('order:OP-1', 2)[1] as AuditRecord;
    const twin = { ...other, payload: { x: 1 } };
    twin.hash = hashOf(twin);
    const r = verifyChain([
      ...lines(chain),
      { file: 'f.jsonl', line: 6, text: JSON.stringify(twin) },
      { file: 'f.jsonl', line: 7, text: '{oops' },
    ]);
    expect(r.broken.map((b) => b.reason)).toEqual([
      expect.stringMatching(/a second, different record for seq 1/),
      'not JSON',
    ]);
  });

  it('checks a stream continued from the day before against that day’s last record', () => {
    const chain = sampleChain();
    const yesterday = lines(chain.slice(0, 3), 'd1');
    const today = lines(chain.slice(3), 'd2');
    expect(verifyChain(today, { anchors: headsOf(yesterday) })).toMatchObject({ ok: true, continued: 1 });
    const wrongAnchor = headsOf(lines(chain.slice(0, 2), 'd1'));
    expect(verifyChain(today, { anchors: wrongAnchor }).first_broken?.reason).toMatch(/does not continue/);
    expect(verifyChain(today, { allowContinued: false }).first_broken?.reason).toMatch(
      /records 0..2 are missing/,
    );
  });
});

describe('the audited order store', () => {
  it('writes the same chain whichever process writes the next events (head from the timeline)', async () => {
    const store = await LocalOrderStore.open({ dataDir: null });
    const written: AuditRecord[] = [];
    const sink: AuditSink = { append: async (r) => void written.push(...r), close: async () => undefined };
    const errors: unknown[] = [];
    const a = auditOrderStore(store, sink, (e) => errors.push(e));
    const b = auditOrderStore(store, sink, (e) => errors.push(e));
    const inst = {
      ...instruction({ operation_id: 'OP-A1', order_type: 'LIMIT', price: '60000' }),
    } as unknown as OrderInstruction;
    let order = await createRoutedOrder(a, inst, { venue: 'SIM', account_id: null, ts: T0 });
    // Alternate writers: b has never seen the order, a's cache is stale after b wrote.
    const writers = [b, a, b];
    const commands = [
      { type: 'SubmitOrder', ts_event: T0 + 1n, ts_init: T0 + 1n, client_order_id: 'c1' },
      { type: 'AcceptOrder', ts_event: T0 + 2n, ts_init: T0 + 2n, venue_order_id: 'v1' },
      { type: 'RequestCancel', ts_event: T0 + 3n, ts_init: T0 + 3n, reason: 'test' },
    ] as const;
    for (const [i, c] of commands.entries()) {
      const r = handle(c as never, order);
      if (!r.success) throw new Error(`${c.type}: ${r.error.reason}`);
      const t = await (writers[i] as typeof a).transition(
        'OP-A1',
        order.version,
        r.data.order,
        r.data.events,
      );
      if (!t.ok) throw new Error(t.reason);
      order = t.order;
    }
    expect(errors).toEqual([]);
    const timeline: OrderEvent[] = await store.timeline('OP-A1');
    expect(written).toEqual(chainRecords(orderStream('OP-A1'), timeline.map(eventEntry)));
    expect(verifyChain(lines(written), { allowContinued: false }).ok).toBe(true);
  });
});

describe('npm run audit -- verify, on a platform’s data folder', () => {
  let dir: string;
  let platform: Platform;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audit-'));
    const clock = new TestClock(T0);
    const config = parseConfig(
      { ...EMBEDDED_CONFIG, storage: { ...EMBEDDED_CONFIG.storage, data_dir: dir } },
      { env: {} },
    );
    platform = await createPlatform(config, { env: {}, clock });
    await putBook(platform.marketState, clock, 'BINANCE-SPOT', 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT', '60000');
    await putVenue(platform.marketState, clock, 'BINANCE-SPOT');
    const service = createPlatformOrderService(platform);
    for (let i = 0; i < 6; i++) {
      const out = await service.submit(instruction({ operation_id: `OP-V${i}` }), { via: 'internal' });
      expect(['routed', 'denied', 'unroutable']).toContain(out.kind);
      clock.advance(1_000_000n);
    }
    await service.submit({ operation_id: 'OP-BAD', quantity: 'lots' }, { via: 'internal' });
    await service.cancel({ operation_id: 'OP-V1', reason: 'test' }, { via: 'internal' });
    await platform.tradingState.set(
      GLOBAL_SCOPE,
      { state: 'HALTED', reason: 'drill', updated_by: 'user:ops@desk.test' },
      T0,
    );
    await platform.tradingState.set(
      GLOBAL_SCOPE,
      { state: 'ACTIVE', reason: 'drill over', updated_by: 'user:ops@desk.test' },
      T0 + 5n,
    );
    await platform.close();
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the chain whole, then names the first broken record of a tampered file', async () => {
    const auditDir = join(dir, 'audit');
    const ok = await verifyDay(auditDir, DAY);
    expect(ok).toMatchObject({ ok: true, continued: 0, first_broken: null });
    expect(ok.streams).toBe(6 + 1 + 1); // six orders, the refused one, the global trading state
    expect(ok.records).toBeGreaterThan(12);

    const file = join(auditDir, DAY, 'records.jsonl');
    const original = await readFile(file, 'utf8');
    const rows = original.trimEnd().split('\n');
    const target = rows.findIndex((l) => l.includes('"OrderReceived"') && l.includes('OP-V3'));
    expect(target).toBeGreaterThanOrEqual(0);
    rows[target] = (rows[target] as string).replace(/"quantity":"[^"]*"/, '"quantity":"100"');
    expect(rows[target]).toContain('"quantity":"100"');
    await writeFile(file, `${rows.join('\n')}\n`);

    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/audit.ts', 'verify', '--day', DAY, '--dir', auditDir],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain('BROKEN');
    expect(cli.stdout).toContain(
      `first broken record: ${DAY}/records.jsonl:${target + 1} stream order:OP-V3 seq 0`,
    );
    expect(cli.stdout).toMatch(/edited/);

    const lineDropped = original.trimEnd().split('\n');
    const middle = lineDropped.findIndex((l) => l.includes('"stream":"order:OP-V1","seq":1,'));
    expect(middle).toBeGreaterThanOrEqual(0);
    lineDropped.splice(middle, 1);
    await writeFile(file, `${lineDropped.join('\n')}\n`);
    const dropped = await verifyDay(auditDir, DAY);
    expect(dropped.ok).toBe(false);
    expect(dropped.first_broken?.stream).toBe('order:OP-V1');
  });
});
