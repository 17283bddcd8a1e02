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
}
