/**
 * The merge function's completion count: done messages counted by blocks of 100 windows against
 * `_windows.json`, so one message costs the same whatever the run's size, and only the message
 * that finds every block done reads the manifest. Run on the local store with the store calls
 * recorded; windows finish out of order, messages are duplicated, errors count as done.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mergeOnDone } from '../../../functions/backtest-merge/handler.ts';
import { memoryLogger } from '../../../functions/shared/log.ts';
import { errorKey, manifestKey, partialKey } from '../../../infra/backtest/keys.ts';
import { noteWindowDone, readRunWindows, writeRunWindows } from '../../../infra/backtest/merge-run.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { type Manifest, windowIdOf } from '../../../shared/backtest/model.ts';
import type { BlobStore } from '../../../shared/ports/blob-store.ts';
import { removeAll, tempDir } from './helpers.ts';

const dirs: string[] = [];
afterAll(async () => {
  await removeAll(...dirs);
});

/** Records every store call as `op key`. */
function recorded(inner: BlobStore): { store: BlobStore; calls: string[] } {
  const calls: string[] = [];
  const store: BlobStore = {
    put: (key, data, opts) => {
      calls.push(`put ${key}`);
      return inner.put(key, data, opts);
    },
    get: (key) => {
      calls.push(`get ${key}`);
      return inner.get(key);
    },
    getRange: (key, start, end) => {
      calls.push(`getRange ${key}`);
      return inner.getRange(key, start, end);
    },
    list: (prefix) => {
      calls.push(`list ${prefix}`);
      return inner.list(prefix);
    },
    stat: (key) => {
      calls.push(`stat ${key}`);
      return inner.stat(key);
    },
    delete: (key) => inner.delete(key),
    health: () => inner.health(),
  };
  return { store, calls };
}

/** A deterministic shuffle (a fixed LCG), so the order is the same on every run. */
function shuffled<T>(xs: readonly T[]): T[] {
  const out = [...xs];
  let s = 12345;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('merge completion counted by blocks', () => {
  it('a 250-window run: every message before the last waits with a bounded number of store calls', async () => {
    const dir = await tempDir('merge-blocks');
    dirs.push(dir);
    const base = new LocalBlobStore(dir, { durable: false });
    const runId = 'run-blocks';
    const total = 250;
    await base.put(
      `backtest_results/${runId}/_windows.json`,
      `${JSON.stringify({ version: 1, run_id: runId, windows: total })}\n`,
    );
    expect(await readRunWindows(base, runId)).toBe(total);
    const { store, calls } = recorded(base);
    const ids = shuffled(Array.from({ length: total }, (_, i) => windowIdOf(i)));
    const failing = new Set([ids[3], ids[100]]);
    let markers = 0;
    for (const [n, id] of ids.entries()) {
      if (failing.has(id)) await base.put(errorKey(runId, id), '{}\n');
      else await base.put(partialKey(runId, id), '{}\n');
      calls.length = 0;
      const p = await noteWindowDone(store, runId, id, total);
      // A duplicate delivery of the same done message changes nothing.
      const again = await noteWindowDone(store, runId, id, total);
      expect(again.kind).toBe(p.kind);
      if (n < total - 1) expect(p.kind, `message ${n} (${id})`).not.toBe('all_done');
      else expect(p).toEqual({ kind: 'all_done', blocks: 3 });
      // Two listings of one block, plus a marker and a listing of markers when the block completes.
      const once = calls.slice(0, calls.length / 2);
      expect(once.filter((c) => c.startsWith('list ')).length).toBeLessThanOrEqual(3);
      expect(once.some((c) => c.includes('_manifest.json'))).toBe(false);
      if (p.kind === 'run_waiting' || p.kind === 'all_done') markers++;
      else expect(once).toHaveLength(2);
    }
    // Blocks 0 and 1 hold 100 windows, block 2 the last 50.
    expect(markers).toBe(3);
    expect((await base.list(`backtest_results/${runId}/_blocks/`)).map((b) => b.key).sort()).toEqual([
      `backtest_results/${runId}/_blocks/w0000.json`,
      `backtest_results/${runId}/_blocks/w0001.json`,
      `backtest_results/${runId}/_blocks/w0002.json`,
    ]);
    expect(await noteWindowDone(store, runId, windowIdOf(250), total)).toEqual({ kind: 'unknown_window' });
    expect(await noteWindowDone(store, runId, 'w12', total)).toEqual({ kind: 'unknown_window' });
  });

  it('ids past w999999 grow a digit: a block counts only its own windows', async () => {
    const dir = await tempDir('merge-wide');
    dirs.push(dir);
    const store = new LocalBlobStore(dir, { durable: false });
    const runId = 'run-wide';
    const total = 1_000_100;
    // w100000–w100009 (block 1000) share the prefix `w10000` with block 10000 (w1000000–w1000099).
    for (let i = 100_000; i < 100_010; i++) await store.put(partialKey(runId, windowIdOf(i)), '{}\n');
    for (let i = 1_000_000; i < 1_000_090; i++) await store.put(partialKey(runId, windowIdOf(i)), '{}\n');
    expect(await noteWindowDone(store, runId, windowIdOf(1_000_000), total)).toEqual({
      kind: 'block_waiting',
      block: 10_000,
      done: 90,
      size: 100,
    });
    for (let i = 1_000_090; i < 1_000_100; i++) await store.put(partialKey(runId, windowIdOf(i)), '{}\n');
    expect(await noteWindowDone(store, runId, windowIdOf(1_000_099), total)).toEqual({
      kind: 'run_waiting',
      block: 10_000,
      blocks_done: 1,
      blocks: 10_001,
    });
  });

  it('the merge function: an unplanned window is dead-lettered; a run without _windows.json uses the manifest', async () => {
    const dir = await tempDir('merge-legacy');
    dirs.push(dir);
    const store = new LocalBlobStore(dir, { durable: false });
    const deps = { results: store, bus: { publish: async () => 'id' }, log: memoryLogger(), now: () => 0 };
    const runId = 'run-legacy';
    const manifest = { run_id: runId, windows: [{ window_id: 'w000000' }] } as unknown as Manifest;
    await writeRunWindows(store, manifest);
    expect(
      await mergeOnDone(deps, { run_id: runId, window_id: 'w000001', outcome: 'partial' }),
    ).toMatchObject({
      kind: 'dead_letter',
      reason: 'unknown_window',
    });
    // No _windows.json and no manifest: the run is unknown (read through the manifest path).
    expect(
      await mergeOnDone(deps, { run_id: 'run-none', window_id: 'w000000', outcome: 'partial' }),
    ).toMatchObject({ kind: 'dead_letter', reason: 'unknown_run' });
    // Every block done but no manifest: unknown run, nothing merged.
    await store.put(partialKey(runId, 'w000000'), '{}\n');
    expect(
      await mergeOnDone(deps, { run_id: runId, window_id: 'w000000', outcome: 'partial' }),
    ).toMatchObject({
      kind: 'dead_letter',
      reason: 'unknown_run',
    });
    expect(await store.stat(manifestKey(runId))).toBeNull();
    await expect(
      writeRunWindows(store, { run_id: runId, windows: [{ window_id: 'w000001' }] } as unknown as Manifest),
    ).rejects.toThrow(/window 0 is w000001/);
  });
});
