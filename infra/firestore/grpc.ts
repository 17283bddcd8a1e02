/** Small Firestore helpers shared by the adapters: gRPC status codes, timeouts, whole-document updates. */
import { FieldPath, FieldValue, type Firestore } from '@google-cloud/firestore';

/** The gRPC status codes the adapters act on (google.rpc.Code). */
export const GrpcStatus = {
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
} as const;

/** The numeric gRPC status of an error thrown by the Firestore client, if it has one. */
export function grpcCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** Reject with a clear message when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Arguments for `update(ref, field, value, ...more)` that make the stored document equal `next`:
 * every field of `next` by exact FieldPath (no dot-path parsing of keys), and a delete for each
 * field of `stored` that `next` no longer has. `update` is used (rather than `set`) because only
 * update and create take preconditions.
 */
export function replaceFields(
  stored: Record<string, unknown> | undefined,
  next: Record<string, unknown>,
): [FieldPath, unknown, ...unknown[]] {
  const args: unknown[] = [];
  for (const [k, v] of Object.entries(next)) args.push(new FieldPath(k), v);
  for (const k of Object.keys(stored ?? {})) {
    if (!(k in next)) args.push(new FieldPath(k), FieldValue.delete());
  }
  const [first, firstValue, ...more] = args;
  if (!(first instanceof FieldPath))
    throw new RangeError('replaceFields: an empty document cannot be written');
  return [first, firstValue, ...more];
}

/**
 * Component health from one cheap read of `collection` (no document bodies), bounded by
 * `timeoutMs`: `{ok:true}`, or `{ok:false, detail}` naming what failed. Never throws.
 */
export async function collectionHealth(
  db: Firestore,
  collection: string,
  timeoutMs: number,
): Promise<{ ok: boolean; detail?: string }> {
  try {
    await withTimeout(db.collection(collection).select().limit(1).get(), timeoutMs, 'Firestore read');
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}
