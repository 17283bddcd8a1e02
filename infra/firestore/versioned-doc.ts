/**
 * The versioned put of a single-document record, without transactions: expectedVersion 0 →
 * `create()` (fails with ALREADY_EXISTS if the document exists); otherwise read, compare the
 * version, and `update()` with the read `lastUpdateTime` as precondition (fails with
 * FAILED_PRECONDITION if anyone wrote in between). A lost race is retried up to `maxAttempts`
 * times: the next read reports the conflict.
 */
import type { DocumentData, DocumentReference } from '@google-cloud/firestore';
import { GrpcStatus, grpcCode, replaceFields } from './grpc.ts';

export type VersionedPutResult<T> = { ok: true } | { ok: false; current: T | null };

export async function putVersionedDoc<T extends { version: number }>(
  ref: DocumentReference,
  doc: Record<string, unknown>,
  expectedVersion: number,
  fromDoc: (data: DocumentData | undefined, path: string) => T,
  maxAttempts: number,
): Promise<VersionedPutResult<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      if (expectedVersion === 0) {
        await ref.create(doc);
        return { ok: true };
      }
      const snap = await ref.get();
      if (!snap.exists) return { ok: false, current: null };
      const current = fromDoc(snap.data(), snap.ref.path);
      if (current.version !== expectedVersion) return { ok: false, current };
      const [first, firstValue, ...more] = replaceFields(snap.data(), doc);
      await ref.update(first, firstValue, ...more, { lastUpdateTime: snap.updateTime! });
      return { ok: true };
    } catch (err) {
      const code = grpcCode(err);
      if (code === GrpcStatus.ALREADY_EXISTS) {
        const snap = await ref.get();
        if (snap.exists) return { ok: false, current: fromDoc(snap.data(), snap.ref.path) };
      } else if (code !== GrpcStatus.FAILED_PRECONDITION && code !== GrpcStatus.ABORTED) {
        throw err;
      }
      // Lost a race after our read: the next read reports the conflict.
      if (attempt >= maxAttempts) throw err;
    }
  }
}
