import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GcsBlobStore } from '../../infra/gcs/blob-store.gcs.ts';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { InvalidBlobKeyError } from '../../shared/ports/blob-store.ts';
import { startOrSkip } from '../support/emulator-guard.ts';
import { startGcsEmulator } from '../support/gcs-emulator.ts';
import { blobStoreContract, expectSameBytes, pseudoRandomBytes } from './blob-store.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const tempDirs: string[] = [];
function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'blob-store-contract-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

blobStoreContract('local folder', async () => new LocalBlobStore(tempRoot()));

describe('LocalBlobStore specifics', () => {
  it('keeps objects as plain files under the root and leaves no temporary files behind', async () => {
    const root = tempRoot();
    const store = new LocalBlobStore(root);
    await store.put('x/y/z.bin', pseudoRandomBytes(10_000, 1));
    expect(readdirSync(join(root, 'x', 'y'))).toEqual(['z.bin']);
    expect(readdirSync(join(root, '.blobstore-tmp'))).toEqual([]);
    expect((await store.list('')).map((b) => b.key)).toEqual(['x/y/z.bin']);
    expect(store.pathFor('x/y/z.bin')).toBe(join(root, 'x', 'y', 'z.bin'));
  });

  it('reserves the temporary folder name and prunes folders emptied by delete', async () => {
    const root = tempRoot();
    const store = new LocalBlobStore(root);
    await expect(store.put('.blobstore-tmp/x', 'x')).rejects.toBeInstanceOf(InvalidBlobKeyError);
    await store.put('deep/er/still/file.bin', 'x');
    await store.delete('deep/er/still/file.bin');
    expect(readdirSync(root).sort()).toEqual(['.blobstore-tmp']);
  });

  it('reads a folder written by other tools (no temp folder) and is healthy on a fresh path', async () => {
    const root = join(tempRoot(), 'not', 'yet', 'there');
    const store = new LocalBlobStore(root);
    expect(await store.list('')).toEqual([]);
    expect((await store.health()).ok).toBe(true);
  });
});

const emulator = await startOrSkip('Cloud Storage (firebase-tools)', () => startGcsEmulator());

describe.skipIf(!emulator.ok)('on the Cloud Storage emulator', () => {
  if (!emulator.ok) return;
  const emu = emulator.value;
  afterAll(() => emu.stop());
  console.info(
    `GCS emulator (firebase-tools storage, child process) ready in ${emu.startMs} ms at ${emu.endpoint}`,
  );

  let n = 0;
  // Each test gets its own key prefix in the one bucket; objects above 512 KiB take the resumable
  // upload path, smaller ones a single multipart request, so both are exercised.
  blobStoreContract(
    'Cloud Storage',
    async () =>
      new GcsBlobStore({
        bucket: emu.bucket,
        prefix: `contract/${++n}-${randomBytes(4).toString('hex')}`,
        projectId: emu.projectId,
        apiEndpoint: emu.endpoint,
        resumableThresholdBytes: 512 * 1024,
      }),
  );

  describe('GcsBlobStore specifics', () => {
    it('keeps keys under its prefix and lists across pages', async () => {
      const prefix = `paging-${randomBytes(4).toString('hex')}`;
      const store = new GcsBlobStore({
        bucket: emu.bucket,
        prefix,
        apiEndpoint: emu.endpoint,
        listPageSize: 7,
      });
      const bare = new GcsBlobStore({ bucket: emu.bucket, apiEndpoint: emu.endpoint });
      const keys = Array.from({ length: 45 }, (_, i) => `p/${String(i).padStart(5, '0')}.bin`);
      await Promise.all(keys.map((k) => store.put(k, 'x')));
      await store.put('q/outside.bin', 'x');
      const listed = await store.list('p/');
      expect(listed.map((b) => b.key)).toEqual(keys); // 7 pages of 7
      expect((await store.list('')).length).toBe(46);
      expect((await bare.stat(`${prefix}/p/00000.bin`))?.size).toBe(1);
      expectSameBytes(await bare.get(`${prefix}/p/00044.bin`), new TextEncoder().encode('x'));
    });

    it('reads through STORAGE_EMULATOR_HOST when no apiEndpoint is given', async () => {
      const previous = process.env.STORAGE_EMULATOR_HOST;
      process.env.STORAGE_EMULATOR_HOST = emu.endpoint;
      try {
        const store = new GcsBlobStore({
          bucket: emu.bucket,
          prefix: `env-${randomBytes(4).toString('hex')}`,
        });
        await store.put('a.bin', pseudoRandomBytes(100, 9));
        expectSameBytes(await store.getRange('a.bin', 10, 20), pseudoRandomBytes(100, 9).subarray(10, 20));
      } finally {
        if (previous === undefined) delete process.env.STORAGE_EMULATOR_HOST;
        else process.env.STORAGE_EMULATOR_HOST = previous;
      }
    });

    it('reports unhealthy when the endpoint does not answer', async () => {
      const store = new GcsBlobStore({
        bucket: emu.bucket,
        apiEndpoint: 'http://127.0.0.1:9',
        storageOptions: { retryOptions: { autoRetry: false } },
      });
      const health = await store.health();
      expect(health.ok).toBe(false);
      expect(health.detail).toContain(`gs://${emu.bucket}/`);
    });
  });
});
