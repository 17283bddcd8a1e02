import { finished } from 'node:stream/promises';
import { type File, Storage, type StorageOptions } from '@google-cloud/storage';
import {
  assertValidBlobKey,
  assertValidRange,
  type BlobInfo,
  BlobNotFoundError,
  type BlobStore,
  type BlobUpload,
  compareBlobKeys,
} from '../../shared/ports/blob-store.ts';

/**
 * BlobStore on Cloud Storage (`@google-cloud/storage`). Key `k` is the object `<prefix><k>` in
 * `bucket`. Works against the real service (Application Default Credentials) and against an
 * emulator (`apiEndpoint`, or `STORAGE_EMULATOR_HOST` which the client library honours itself).
 *
 * - `getRange(key, start, end)` asks for `Range: bytes=start-(end-1)` (GCS ranges are inclusive)
 *   and checks the answer: the `Content-Range` of a 206 must cover exactly [start, end); a server
 *   that ignores the range (200, the whole object; the Firebase emulator does this for
 *   unsatisfiable ranges) is handled by slicing; 416 or a short range → RangeError.
 * - `list(prefix)` pages through `objects.list` (1000 per page) and sorts by key (UTF-8 order).
 * - 404 → BlobNotFoundError (`get`, `getRange`), null (`stat`), a no-op (`delete`).
 * - uploads up to `resumableThresholdBytes` are one multipart request; larger ones are resumable.
 *   Every upload is checked end to end with CRC32C by the client library.
 * - `openUpload(key)` streams an object through one resumable session (`createWriteStream`); the
 *   object appears when the session is finalised on `commit`, never in part; `abort` drops it.
 */
export interface GcsBlobStoreOptions {
  bucket: string;
  /** Folder inside the bucket for every key, e.g. `env/dev` (a trailing '/' is added). */
  prefix?: string | undefined;
  projectId?: string | undefined;
  /** e.g. `http://127.0.0.1:9199` for an emulator. Default: the library's (STORAGE_EMULATOR_HOST or Google). */
  apiEndpoint?: string | undefined;
  /** Objects larger than this are uploaded with a resumable session. Default 8 MiB. */
  resumableThresholdBytes?: number | undefined;
  /** Objects per `objects.list` page (default 1000, the API's maximum). */
  listPageSize?: number | undefined;
  /** Passed to the Storage client as is (credentials, retries, user agent). */
  storageOptions?: StorageOptions | undefined;
}

const DEFAULT_RESUMABLE_THRESHOLD = 8 * 1024 * 1024;

function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  if ('code' in error && typeof error.code === 'number') return error.code;
  if ('status' in error && typeof error.status === 'number') return error.status;
  return undefined;
}

/** The parts of the HTTP response `createReadStream` emits on 'response' that we read. */
function responseInfo(res: unknown): { status: number | undefined; contentRange: string | undefined } {
  if (typeof res !== 'object' || res === null) return { status: undefined, contentRange: undefined };
  const status = 'statusCode' in res && typeof res.statusCode === 'number' ? res.statusCode : undefined;
  let contentRange: string | undefined;
  if ('headers' in res && typeof res.headers === 'object' && res.headers !== null) {
    const headers = res.headers;
    if ('content-range' in headers && typeof headers['content-range'] === 'string') {
      contentRange = headers['content-range'];
    }
  }
  return { status, contentRange };
}

function toBytes(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export class GcsBlobStore implements BlobStore {
  readonly bucketName: string;
  readonly prefix: string;
  private readonly storage: Storage;
  private readonly resumableThreshold: number;
  private readonly listPageSize: number;

  constructor(options: GcsBlobStoreOptions) {
    if (!options.bucket) throw new TypeError('GcsBlobStore needs a bucket');
    this.bucketName = options.bucket;
    const prefix = options.prefix ?? '';
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    if (this.prefix !== '') assertValidBlobKey(this.prefix.slice(0, -1));
    const storageOptions: StorageOptions = { ...options.storageOptions };
    if (options.projectId !== undefined) storageOptions.projectId = options.projectId;
    if (options.apiEndpoint !== undefined) storageOptions.apiEndpoint = options.apiEndpoint;
    this.storage = new Storage(storageOptions);
    this.resumableThreshold = options.resumableThresholdBytes ?? DEFAULT_RESUMABLE_THRESHOLD;
    this.listPageSize = options.listPageSize ?? 1000;
  }

  /** `gs://bucket/prefix` for logs and health. */
  get url(): string {
    return `gs://${this.bucketName}/${this.prefix}`;
  }

  async put(
    key: string,
    data: Uint8Array | string,
    opts?: { contentType?: string | undefined },
  ): Promise<void> {
    const bytes =
      typeof data === 'string'
        ? Buffer.from(data, 'utf8')
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const contentType =
      opts?.contentType ??
      (typeof data === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
    await this.file(key).save(bytes, {
      resumable: bytes.byteLength > this.resumableThreshold,
      contentType,
      validation: 'crc32c',
    });
  }

  async openUpload(key: string, opts?: { contentType?: string | undefined }): Promise<BlobUpload> {
    const stream = this.file(key).createWriteStream({
      resumable: true,
      contentType: opts?.contentType ?? 'application/octet-stream',
      validation: 'crc32c',
    });
    let failure: unknown = null;
    stream.on('error', (error: unknown) => {
      failure ??= error;
    });
    let bytes = 0;
    let open = true;
    const ensureOpen = () => {
      if (failure !== null) throw failure;
      if (!open) throw new Error(`upload of ${key} is closed`);
    };
    return {
      get bytes() {
        return bytes;
      },
      async write(chunk: Uint8Array) {
        ensureOpen();
        bytes += chunk.byteLength;
        if (!stream.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
          // Back-pressure: wait until the session has taken the buffered bytes (or failed).
          await new Promise<void>((resolve) => {
            const done = () => {
              stream.off('drain', done);
              stream.off('close', done);
              resolve();
            };
            stream.on('drain', done);
            stream.on('close', done);
          });
          ensureOpen();
        }
      },
      async commit() {
        ensureOpen();
        open = false;
        stream.end();
        await finished(stream);
        if (failure !== null) throw failure;
      },
      async abort() {
        open = false;
        stream.destroy(new Error(`upload of ${key} aborted`));
        failure ??= new Error(`upload of ${key} aborted`);
      },
    };
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const [buf] = await this.file(key).download();
      return toBytes(buf);
    } catch (error) {
      throw this.mapError(error, key);
    }
  }

  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    assertValidRange(key, start, end);
    if (start === end) {
      // No byte to ask for: still report a missing object or a start past the end.
      const info = await this.stat(key);
      if (!info) throw new BlobNotFoundError(key);
      if (start > info.size)
        throw new RangeError(`range [${start}, ${end}) is outside ${key} (${info.size} bytes)`);
      return new Uint8Array(0);
    }
    const stream = this.file(key).createReadStream({ start, end: end - 1, validation: false });
    let response: ReturnType<typeof responseInfo> = { status: undefined, contentRange: undefined };
    stream.on('response', (res: unknown) => {
      response = responseInfo(res);
    });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream)
        chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    } catch (error) {
      throw this.mapError(error, key, start, end);
    }
    const body = Buffer.concat(chunks);
    const want = end - start;
    if (response.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.contentRange ?? '');
      if (m) {
        const total = m[3] === '*' ? undefined : Number(m[3]);
        if (total !== undefined && end > total) {
          throw new RangeError(`range [${start}, ${end}) is outside ${key} (${total} bytes)`);
        }
        if (Number(m[1]) !== start)
          throw new Error(`GCS answered range ${response.contentRange} for [${start}, ${end})`);
      }
      if (body.byteLength !== want) {
        throw new RangeError(
          `range [${start}, ${end}) of ${key}: got ${body.byteLength} bytes (object too short)`,
        );
      }
      return toBytes(body);
    }
    // 200: the server sent the whole object (it ignored or could not satisfy the range).
    if (end > body.byteLength) {
      throw new RangeError(`range [${start}, ${end}) is outside ${key} (${body.byteLength} bytes)`);
    }
    return toBytes(body.subarray(start, end));
  }

  async list(prefix: string): Promise<BlobInfo[]> {
    const out: BlobInfo[] = [];
    let pageToken: string | undefined;
    const bucket = this.storage.bucket(this.bucketName);
    do {
      const [files, next] = await bucket.getFiles({
        prefix: this.prefix + prefix,
        autoPaginate: false,
        maxResults: this.listPageSize,
        ...(pageToken ? { pageToken } : {}),
      });
      for (const f of files) {
        if (!f.name.startsWith(this.prefix)) continue;
        out.push(this.info(f.name.slice(this.prefix.length), f.metadata));
      }
      pageToken =
        next && 'pageToken' in next && typeof next.pageToken === 'string' ? next.pageToken : undefined;
    } while (pageToken);
    return out.sort((a, b) => compareBlobKeys(a.key, b.key));
  }

  async stat(key: string): Promise<BlobInfo | null> {
    try {
      const [metadata] = await this.file(key).getMetadata();
      return this.info(key, metadata);
    } catch (error) {
      if (httpStatus(error) === 404) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.file(key).delete({ ignoreNotFound: true });
  }

  /** Lists at most one object: proves the endpoint answers and we may read the bucket. */
  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await this.storage
        .bucket(this.bucketName)
        .getFiles({ prefix: this.prefix, maxResults: 1, autoPaginate: false });
      return { ok: true, detail: this.url };
    } catch (error) {
      return { ok: false, detail: `${this.url}: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  private file(key: string): File {
    assertValidBlobKey(key);
    return this.storage.bucket(this.bucketName).file(this.prefix + key);
  }

  private info(
    key: string,
    metadata: { size?: string | number | undefined; updated?: string | undefined },
  ): BlobInfo {
    const size = Number(metadata.size ?? 0);
    const updatedMs = metadata.updated ? Date.parse(metadata.updated) : undefined;
    return Number.isFinite(updatedMs) ? { key, size, updatedMs } : { key, size };
  }

  private mapError(error: unknown, key: string, start?: number, end?: number): unknown {
    const status = httpStatus(error);
    if (status === 404) return new BlobNotFoundError(key);
    if (status === 416) return new RangeError(`range [${start}, ${end}) is outside ${key}`);
    return error;
  }
}
