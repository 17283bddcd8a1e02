import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { access, type FileHandle, mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  assertValidBlobKey,
  assertValidRange,
  type BlobInfo,
  BlobNotFoundError,
  type BlobStore,
  type BlobUpload,
  compareBlobKeys,
  InvalidBlobKeyError,
} from '../../shared/ports/blob-store.ts';

/**
 * BlobStore on a local folder (the embedded default): key `a/b/c.parquet` is the file
 * `<root>/a/b/c.parquet`, so a folder laid out like the bucket is usable as is.
 *
 * - puts are atomic: the bytes go to a temporary file under `<root>/.blobstore-tmp/` (same file
 *   system), are flushed to disk (`durable`), then renamed over the key; readers never see a
 *   partial object. The first key segment `.blobstore-tmp` is therefore reserved.
 * - keys are validated by `assertValidBlobKey` (no absolute keys, no `..`), and the resolved path
 *   is checked to stay under the root.
 * - ranged reads open the file and read exactly [start, end) at that offset.
 * - `delete` is idempotent and removes folders it leaves empty.
 */
export interface LocalBlobStoreOptions {
  /** fsync each object before it becomes visible (default true). */
  durable?: boolean | undefined;
}

const TMP_DIR = '.blobstore-tmp';

function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

export class LocalBlobStore implements BlobStore {
  readonly root: string;
  private readonly durable: boolean;

  constructor(root: string, options: LocalBlobStoreOptions = {}) {
    this.root = path.resolve(root);
    this.durable = options.durable ?? true;
  }

  /** The file holding `key` (validated; always under the root). */
  pathFor(key: string): string {
    assertValidBlobKey(key);
    if (key === TMP_DIR || key.startsWith(`${TMP_DIR}/`)) {
      throw new InvalidBlobKeyError(key, `the first segment ${TMP_DIR} is reserved`);
    }
    const full = path.resolve(this.root, ...key.split('/'));
    if (!full.startsWith(this.root + path.sep))
      throw new InvalidBlobKeyError(key, 'resolves outside the root');
    return full;
  }

  async put(
    key: string,
    data: Uint8Array | string,
    _opts?: { contentType?: string | undefined },
  ): Promise<void> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const upload = await this.openUpload(key);
    try {
      await upload.write(bytes);
    } catch (error) {
      await upload.abort();
      throw error;
    }
    await upload.commit();
  }

  /**
   * A streamed upload: chunks go to a temporary file under `<root>/.blobstore-tmp/`; `commit`
   * flushes it (`durable`) and renames it over the key, `abort` removes it.
   */
  async openUpload(key: string, _opts?: { contentType?: string | undefined }): Promise<BlobUpload> {
    const target = this.pathFor(key);
    const tmpDir = path.join(this.root, TMP_DIR);
    await mkdir(tmpDir, { recursive: true });
    const tmp = path.join(tmpDir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    const fh = await open(tmp, 'wx');
    let bytes = 0;
    let open_ = true;
    const discard = async () => {
      open_ = false;
      await fh.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
    };
    const ensureOpen = () => {
      if (!open_) throw new Error(`upload of ${key} is closed`);
    };
    const durable = this.durable;
    return {
      get bytes() {
        return bytes;
      },
      async write(chunk: Uint8Array) {
        ensureOpen();
        let offset = 0;
        while (offset < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, offset, chunk.byteLength - offset);
          offset += bytesWritten;
        }
        bytes += chunk.byteLength;
      },
      async commit() {
        ensureOpen();
        open_ = false;
        try {
          if (durable) await fh.sync();
          await fh.close();
          // A concurrent delete may prune the parent folder between mkdir and rename: retry.
          for (let attempt = 1; ; attempt++) {
            await mkdir(path.dirname(target), { recursive: true });
            try {
              await rename(tmp, target);
              break;
            } catch (error) {
              if (errnoCode(error) !== 'ENOENT' || attempt >= 3) throw error;
            }
          }
        } catch (error) {
          await discard();
          if (errnoCode(error) === 'EISDIR' || errnoCode(error) === 'ENOTDIR') {
            throw new InvalidBlobKeyError(key, 'a folder and an object cannot share a path in a local store');
          }
          throw error;
        }
      },
      abort: discard,
    };
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.pathFor(key);
    const fh = await this.openForRead(key, file);
    try {
      const { size } = await fh.stat();
      return await readExactly(fh, 0, size);
    } finally {
      await fh.close();
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    assertValidRange(key, start, end);
    const file = this.pathFor(key);
    const fh = await this.openForRead(key, file);
    try {
      const { size } = await fh.stat();
      if (end > size) throw new RangeError(`range [${start}, ${end}) is outside ${key} (${size} bytes)`);
      return await readExactly(fh, start, end - start);
    } finally {
      await fh.close();
    }
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    // Walk only the folder the prefix points into: `a/b/c` → `<root>/a/b`, then filter by prefix.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut >= 0 ? prefix.slice(0, cut) : '';
    if (dirKey !== '' && dirKey.split('/').some((s) => s === '' || s === '.' || s === '..')) return [];
    const start = dirKey === '' ? this.root : path.join(this.root, ...dirKey.split('/'));
    const out: BlobInfo[] = [];
    await this.walk(start, dirKey, prefix, out);
    return out.sort((a, b) => compareBlobKeys(a.key, b.key));
  }

  async stat(key: string): Promise<BlobInfo | null> {
    const file = this.pathFor(key);
    try {
      const st = await stat(file);
      if (!st.isFile()) return null;
      return { key, size: st.size, updatedMs: st.mtimeMs };
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await unlink(file);
    } catch (error) {
      const code = errnoCode(error);
      // Nothing stored under this key (a folder is not an object): deleting is a no-op.
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EPERM') return;
      throw error;
    }
    // Prune folders left empty, up to (not including) the root.
    let dir = path.dirname(file);
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await rmdir(dir);
      } catch {
        break; // not empty (or gone): stop
      }
      dir = path.dirname(dir);
    }
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.R_OK | constants.W_OK);
      return { ok: true, detail: `local folder ${this.root}` };
    } catch (error) {
      return {
        ok: false,
        detail: `local folder ${this.root}: ${error instanceof Error ? error.message : error}`,
      };
    }
  }

  private async openForRead(key: string, file: string) {
    try {
      const fh = await open(file, 'r');
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        throw new BlobNotFoundError(key);
      }
      return fh;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new BlobNotFoundError(key);
      throw error;
    }
  }

  private async walk(dir: string, dirKey: string, prefix: string, out: BlobInfo[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw error;
    }
    for (const entry of entries) {
      if (dirKey === '' && entry.name === TMP_DIR) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const st = await stat(full).catch(() => null);
        isDir = st?.isDirectory() ?? false;
        isFile = st?.isFile() ?? false;
      }
      if (isDir) {
        // Descend only where keys below can still match the prefix.
        const below = `${key}/`;
        if (below.startsWith(prefix) || prefix.startsWith(below)) await this.walk(full, key, prefix, out);
      } else if (isFile && key.startsWith(prefix)) {
        const st = await stat(full).catch(() => null);
        if (st?.isFile()) out.push({ key, size: st.size, updatedMs: st.mtimeMs });
      }
    }
  }
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await fh.read(out, filled, length - filled, position + filled);
    if (bytesRead === 0) throw new RangeError(`file shrank while reading: got ${filled} of ${length} bytes`);
    filled += bytesRead;
  }
  return out;
}
