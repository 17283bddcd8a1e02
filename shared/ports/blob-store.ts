export interface BlobInfo {
  key: string;
  size: number;
  updatedMs?: number | undefined;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`blob not found: ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

/** A key no adapter accepts (empty, absolute, `.`/`..` or empty segments, backslashes, control characters). */
export class InvalidBlobKeyError extends TypeError {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid blob key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidBlobKeyError';
  }
}

/**
 * Keys are relative, '/'-separated paths: not empty, no leading or trailing '/', no empty, `.` or
 * `..` segments, no backslash and no control characters (so the same key works as a Cloud Storage
 * object name and as a path under a local folder). Throws InvalidBlobKeyError.
 */
export function assertValidBlobKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidBlobKeyError(String(key), 'empty');
  if (key.startsWith('/')) throw new InvalidBlobKeyError(key, 'absolute keys are not allowed');
  if (key.includes('\\')) throw new InvalidBlobKeyError(key, "use '/' as the separator, not backslash");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(key))
    throw new InvalidBlobKeyError(key, 'control characters are not allowed');
  for (const segment of key.split('/')) {
    if (segment === '')
      throw new InvalidBlobKeyError(key, "empty path segment (leading, trailing or double '/')");
    if (segment === '.' || segment === '..')
      throw new InvalidBlobKeyError(key, `'${segment}' segments are not allowed`);
  }
}

/** Checks the arguments of `getRange` (integers, 0 <= start <= end); throws RangeError. */
export function assertValidRange(key: string, start: number, end: number): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) {
    throw new RangeError(`range [${start}, ${end}) of ${key}: start and end must be integers`);
  }
  if (start < 0 || end < start)
    throw new RangeError(`range [${start}, ${end}) of ${key}: need 0 <= start <= end`);
}

/**
 * Byte-wise UTF-8 order (the order Cloud Storage lists objects in), which is Unicode code point
 * order; JavaScript's `<` compares UTF-16 units and differs above U+FFFF. Every adapter sorts with it.
 */
export function compareBlobKeys(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.codePointAt(i) ?? 0;
    const cb = b.codePointAt(j) ?? 0;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  const restA = a.length - i;
  const restB = b.length - j;
  return restA === restB ? 0 : restA < restB ? -1 : 1;
}

/** Object storage: Cloud Storage in the cloud, a local folder by default. Keys use '/' separators. */
export interface BlobStore {
  put(key: string, data: Uint8Array | string, opts?: { contentType?: string | undefined }): Promise<void>;
  /** Whole object; BlobNotFoundError when absent. */
  get(key: string): Promise<Uint8Array>;
  /** Bytes [start, end) of the object; BlobNotFoundError when absent, RangeError when out of bounds. */
  getRange(key: string, start: number, end: number): Promise<Uint8Array>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<BlobInfo[]>;
  stat(key: string): Promise<BlobInfo | null>;
  delete(key: string): Promise<void>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  /**
   * Optional: a streamed upload, for objects too large to hold in memory (a day of exchange-sized
   * tick data). Stores without it get {@link openBlobUpload}'s buffering fallback.
   */
  openUpload?(key: string, opts?: { contentType?: string | undefined }): Promise<BlobUpload>;
}

/**
 * One object written in chunks: `write` them in order, then `commit` (the object appears whole,
 * replacing any previous one) or `abort` (nothing appears, a previous object stays). Readers never
 * see a partial object. After `commit` or `abort` the upload is closed.
 */
export interface BlobUpload {
  write(chunk: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly bytes: number;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * A streamed upload on any store: the store's own `openUpload` when it has one, else the chunks are
 * collected and `put` on commit (memory-bound: for in-memory and test stores).
 */
export async function openBlobUpload(
  blobs: BlobStore,
  key: string,
  opts: { contentType?: string | undefined } = {},
): Promise<BlobUpload> {
  assertValidBlobKey(key);
  if (blobs.openUpload) return blobs.openUpload(key, opts);
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let open = true;
  const ensureOpen = () => {
    if (!open) throw new Error(`upload of ${key} is closed`);
  };
  return {
    get bytes() {
      return bytes;
    },
    async write(chunk) {
      ensureOpen();
      chunks.push(chunk.slice());
      bytes += chunk.byteLength;
    },
    async commit() {
      ensureOpen();
      open = false;
      const all = new Uint8Array(bytes);
      let at = 0;
      for (const c of chunks.splice(0)) {
        all.set(c, at);
        at += c.byteLength;
      }
      await blobs.put(key, all, opts);
    },
    async abort() {
      open = false;
      chunks.length = 0;
    },
  };
}
