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
