/**
 * `--data` / `--out` locations of the CLIs: a local folder, or `gs://bucket[/prefix]` for Cloud
 * Storage (SPEC: either is accepted wherever a data location is).
 */
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import { LocalBlobStore } from '../local/blob-store.local.ts';

export type BlobLocation = { kind: 'gcs'; bucket: string; prefix: string } | { kind: 'local'; path: string };

export function parseBlobLocation(location: string): BlobLocation {
  if (location.startsWith('gs://')) {
    const rest = location.slice(5).replace(/\/+$/, '');
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!bucket)
      throw new RangeError(`no bucket in ${JSON.stringify(location)} (expected gs://bucket[/prefix])`);
    return { kind: 'gcs', bucket, prefix };
  }
  if (!location) throw new RangeError('empty location');
  return { kind: 'local', path: location };
}

/** A BlobStore for a folder or a `gs://` location (the Cloud Storage client is loaded only when needed). */
export async function openBlobLocation(
  location: string,
  opts: { durable?: boolean | undefined } = {},
): Promise<BlobStore> {
  const loc = parseBlobLocation(location);
  if (loc.kind === 'gcs') {
    const { GcsBlobStore } = await import('../gcs/blob-store.gcs.ts');
    return new GcsBlobStore({ bucket: loc.bucket, prefix: loc.prefix });
  }
  return new LocalBlobStore(loc.path, { durable: opts.durable ?? true });
}
