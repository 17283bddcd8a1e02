/**
 * The BlobStore contract: every adapter (local folder, Cloud Storage) must pass it unchanged.
 * `factory` returns a store isolated from every other test (a fresh folder or a fresh key prefix).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  BlobNotFoundError,
  type BlobStore,
  compareBlobKeys,
  InvalidBlobKeyError,
  openBlobUpload,
} from '../../shared/ports/blob-store.ts';

export type BlobStoreFactory = () => Promise<BlobStore>;

/** Deterministic pseudo-random bytes (xorshift32), so a failure is reproducible. */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Byte-by-byte equality with a message naming the first differing offset. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, label = 'bytes'): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  let firstDiff = -1;
  const n = Math.min(actual.byteLength, expected.byteLength);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      firstDiff = i;
      break;
    }
  }
  expect({ label, length: actual.byteLength, firstDiff }).toEqual({
    label,
    length: expected.byteLength,
    firstDiff: -1,
  });
}

async function expectRejects(
  p: Promise<unknown>,
  type: abstract new (...args: never[]) => Error,
): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(type);
}

const utf8 = new TextEncoder();

export function blobStoreContract(name: string, factory: BlobStoreFactory): void {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;

    beforeEach(async () => {
      store = await factory();
    });

    it('puts and gets a UTF-8 string as its exact bytes', async () => {
      const text = 'ts_event,price\n1,42.5\nnaïve ✓ 😀\n';
      await store.put('text/hello.csv', text, { contentType: 'text/csv' });
      expectSameBytes(await store.get('text/hello.csv'), utf8.encode(text));
    });

    it('puts and gets every byte value 0..255 exactly', async () => {
      const bytes = new Uint8Array(512);
      for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
      await store.put('bin/all-bytes.bin', bytes);
      expectSameBytes(await store.get('bin/all-bytes.bin'), bytes);
    });

    it('stores only the bytes of a Uint8Array view, not its whole buffer', async () => {
      const backing = pseudoRandomBytes(1000, 7);
      const view = backing.subarray(100, 350);
      await store.put('bin/view.bin', view);
      expectSameBytes(await store.get('bin/view.bin'), backing.slice(100, 350));
      expect((await store.stat('bin/view.bin'))?.size).toBe(250);
    });

    it('round-trips a 1 MiB+ object and reports its size', async () => {
      const big = pseudoRandomBytes(1024 * 1024 + 4099, 42);
      await store.put('big/object.bin', big);
      expectSameBytes(await store.get('big/object.bin'), big, 'big object');
      const info = await store.stat('big/object.bin');
      expect(info?.key).toBe('big/object.bin');
      expect(info?.size).toBe(big.byteLength);
    });

    it('getRange returns exactly the requested bytes [start, end)', async () => {
      const big = pseudoRandomBytes(1024 * 1024 + 4099, 43);
      const size = big.byteLength;
      await store.put('ranges/object.bin', big);
      const ranges: Array<[number, number, string]> = [
        [0, 1, 'first byte'],
        [0, 4096, 'start of file'],
        [1, 2, 'second byte'],
        [500_000, 500_123, 'middle'],
        [524_287, 524_289, 'across a power of two'],
        [size - 1, size, 'last byte'],
        [size - 10_000, size, 'range ending exactly at the size'],
        [0, size, 'whole object'],
      ];
      for (const [start, end, label] of ranges) {
        const got = await store.getRange('ranges/object.bin', start, end);
        expectSameBytes(got, big.subarray(start, end), `${label} [${start}, ${end})`);
      }
      expect((await store.getRange('ranges/object.bin', 7, 7)).byteLength).toBe(0);
      expect((await store.getRange('ranges/object.bin', size, size)).byteLength).toBe(0);
    });

    it('getRange rejects out-of-range and malformed ranges with RangeError', async () => {
      const bytes = pseudoRandomBytes(100, 44);
      await store.put('ranges/small.bin', bytes);
      await expectRejects(store.getRange('ranges/small.bin', 0, 101), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', 99, 101), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', 100, 101), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', 150, 160), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', 101, 101), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', -1, 5), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', 10, 5), RangeError);
      await expectRejects(store.getRange('ranges/small.bin', 0.5, 5), RangeError);
      // a valid range still works after the failures
      expectSameBytes(await store.getRange('ranges/small.bin', 98, 100), bytes.subarray(98, 100));
    });

    it('a missing key is BlobNotFoundError for get and getRange, null for stat', async () => {
      await expectRejects(store.get('missing/nothing.bin'), BlobNotFoundError);
      await expectRejects(store.getRange('missing/nothing.bin', 0, 1), BlobNotFoundError);
      await expectRejects(store.getRange('missing/nothing.bin', 0, 0), BlobNotFoundError);
      await expect(store.get('missing/nothing.bin')).rejects.toMatchObject({ key: 'missing/nothing.bin' });
      expect(await store.stat('missing/nothing.bin')).toBeNull();
    });

    it('an empty object exists with size 0', async () => {
      await store.put('empty/zero.bin', new Uint8Array(0));
      expect((await store.get('empty/zero.bin')).byteLength).toBe(0);
      expect((await store.stat('empty/zero.bin'))?.size).toBe(0);
      expect((await store.getRange('empty/zero.bin', 0, 0)).byteLength).toBe(0);
      await expectRejects(store.getRange('empty/zero.bin', 0, 1), RangeError);
    });

    it('lists by prefix, sorted, honouring prefix boundaries (a/b vs a/bc)', async () => {
      const keys = ['a/c.bin', 'a/bc/3.bin', 'ab.bin', 'a/b/2.bin', 'a/bcd.bin', 'a/b/1.bin'];
      for (const [i, key] of keys.entries()) await store.put(key, pseudoRandomBytes(10 + i, i + 1));
      const keysOf = async (prefix: string) => (await store.list(prefix)).map((b) => b.key);
      expect(await keysOf('a/b/')).toEqual(['a/b/1.bin', 'a/b/2.bin']);
      expect(await keysOf('a/b')).toEqual(['a/b/1.bin', 'a/b/2.bin', 'a/bc/3.bin', 'a/bcd.bin']);
      expect(await keysOf('a/bc')).toEqual(['a/bc/3.bin', 'a/bcd.bin']);
      expect(await keysOf('a/')).toEqual(['a/b/1.bin', 'a/b/2.bin', 'a/bc/3.bin', 'a/bcd.bin', 'a/c.bin']);
      expect(await keysOf('a')).toEqual([
        'a/b/1.bin',
        'a/b/2.bin',
        'a/bc/3.bin',
        'a/bcd.bin',
        'a/c.bin',
        'ab.bin',
      ]);
      expect(await keysOf('')).toEqual([...keys].sort(compareBlobKeys));
      expect(await keysOf('zzz/')).toEqual([]);
      expect(await keysOf('a/b/1.bin')).toEqual(['a/b/1.bin']);
      const infos = await store.list('a/b/');
      expect(infos.map((i) => i.size)).toEqual([15, 13]);
    });

    it('sorts listed keys in UTF-8 byte order (code points), like Cloud Storage', async () => {
      const keys = ['u/\u{1F600}.bin', 'u/\uFF5E.bin', 'u/Z.bin', 'u/a.bin'];
      for (const key of keys) await store.put(key, 'x');
      expect((await store.list('u/')).map((b) => b.key)).toEqual([
        'u/Z.bin',
        'u/a.bin',
        'u/\uFF5E.bin',
        'u/\u{1F600}.bin',
      ]);
    });

    it('handles keys with nested folders like the tick-data layout', async () => {
      const key = 'market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet';
      const bytes = pseudoRandomBytes(3000, 45);
      await store.put(key, bytes);
      expectSameBytes(await store.get(key), bytes);
      expect((await store.list('market-data-tick/BINANCE-SPOT/')).map((b) => b.key)).toEqual([key]);
      expect((await store.list('market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades')).length).toBe(1);
    });

    it('stat reports size and a recent modification time', async () => {
      const before = Date.now() - 60_000;
      await store.put('stat/one.bin', pseudoRandomBytes(1234, 46));
      const info = await store.stat('stat/one.bin');
      expect(info).toMatchObject({ key: 'stat/one.bin', size: 1234 });
      expect(typeof info?.updatedMs).toBe('number');
      expect(info?.updatedMs ?? 0).toBeGreaterThan(before);
      expect(info?.updatedMs ?? 0).toBeLessThan(Date.now() + 60_000);
    });

    it('overwrites an existing object', async () => {
      await store.put('over/write.bin', pseudoRandomBytes(5000, 47));
      const second = pseudoRandomBytes(17, 48);
      await store.put('over/write.bin', second);
      expectSameBytes(await store.get('over/write.bin'), second);
      expect((await store.stat('over/write.bin'))?.size).toBe(17);
    });

    it('concurrent puts of one key leave exactly one complete version', async () => {
      const versions = [1, 2, 3, 4, 5].map((v) => pseudoRandomBytes(64 * 1024 + v, 100 + v));
      await Promise.all(versions.map((v) => store.put('race/key.bin', v)));
      const got = await store.get('race/key.bin');
      const matches = versions.filter(
        (v) => v.byteLength === got.byteLength && v.every((b, i) => got[i] === b),
      ).length;
      expect(matches).toBe(1);
    });

    it('deletes (idempotently) and the object is gone everywhere', async () => {
      await store.put('del/a.bin', 'a');
      await store.put('del/b.bin', 'b');
      await store.delete('del/a.bin');
      await expectRejects(store.get('del/a.bin'), BlobNotFoundError);
      expect(await store.stat('del/a.bin')).toBeNull();
      expect((await store.list('del/')).map((b) => b.key)).toEqual(['del/b.bin']);
      await store.delete('del/a.bin'); // again: no error
      await store.delete('del/never-existed.bin');
      expectSameBytes(await store.get('del/b.bin'), utf8.encode('b'));
    });

    it('rejects keys that are absolute, climb with .., or have empty segments', async () => {
      for (const key of [
        '../escape.bin',
        'a/../../escape.bin',
        '/abs/key.bin',
        'a//b.bin',
        'a/./b.bin',
        '',
        'trailing/',
      ]) {
        await expectRejects(store.put(key, 'x'), InvalidBlobKeyError);
        await expectRejects(store.get(key), InvalidBlobKeyError);
      }
    });

    it('reports healthy', async () => {
      expect((await store.health()).ok).toBe(true);
    });

    it('streams an upload in chunks: nothing visible until commit, then exactly the bytes', async () => {
      const whole = pseudoRandomBytes(1_300_000, 11);
      await store.put('up/stream.bin', 'previous');
      const upload = await openBlobUpload(store, 'up/stream.bin', {
        contentType: 'application/octet-stream',
      });
      for (let at = 0; at < whole.byteLength; at += 256 * 1024) {
        await upload.write(whole.subarray(at, Math.min(whole.byteLength, at + 256 * 1024)));
        // Still the previous object while the upload runs.
        expect(new TextDecoder().decode(await store.get('up/stream.bin'))).toBe('previous');
      }
      expect(upload.bytes).toBe(whole.byteLength);
      await upload.commit();
      expectSameBytes(await store.get('up/stream.bin'), whole, 'streamed object');
      expect((await store.stat('up/stream.bin'))?.size).toBe(whole.byteLength);
      await expect(upload.write(whole.subarray(0, 1))).rejects.toThrow(/closed/);
    });

    it('an aborted upload leaves nothing (and the previous object untouched)', async () => {
      const fresh = await openBlobUpload(store, 'up/aborted.bin');
      await fresh.write(pseudoRandomBytes(1000, 3));
      await fresh.abort();
      expect(await store.stat('up/aborted.bin')).toBeNull();
      await store.put('up/kept.bin', 'kept');
      const over = await openBlobUpload(store, 'up/kept.bin');
      await over.write(pseudoRandomBytes(1000, 4));
      await over.abort();
      expect(new TextDecoder().decode(await store.get('up/kept.bin'))).toBe('kept');
      expect((await store.list('up/')).map((b) => b.key)).toEqual(['up/kept.bin']);
    });
  });
}
