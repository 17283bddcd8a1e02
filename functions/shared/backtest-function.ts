/**
 * What the backtest functions share on top of `pubSubFunction`: the message data decoded as JSON
 * (malformed bytes are poison: dead-letter with the reason), and — for the window and merge
 * functions — a run-scoped message validated against its schema and its run's manifest.
 */
import type { z } from 'zod';
import { jsonPayload } from '../../infra/backtest/messages.ts';
import { readManifest } from '../../infra/backtest/plan-run.ts';
import type { Manifest } from '../../shared/backtest/model.ts';
import { fromZodIssues } from '../../shared/domain/errors.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import {
  type PubSubFunction,
  type PubSubFunctionOptions,
  pubSubFunction,
  type Verdict,
} from './pubsub-function.ts';

export interface JsonPubSubFunctionOptions extends Omit<PubSubFunctionOptions, 'handle'> {
  /** Handle the decoded JSON payload; throwing means transient (redeliver). */
  handle(payload: unknown): Promise<Verdict>;
}

/** `pubSubFunction` whose handler gets the message data as JSON; undecodable data is dead-lettered. */
export function jsonPubSubFunction(opts: JsonPubSubFunctionOptions): PubSubFunction {
  const { handle, ...rest } = opts;
  return pubSubFunction({
    ...rest,
    handle: async (delivery) => {
      const payload = jsonPayload(delivery.data);
      if (!payload.ok)
        return { kind: 'dead_letter', outcome: 'poison', reason: payload.reason, issues: payload.issues };
      return handle(payload.value);
    },
  });
}

export type RunMessage<T> = { ok: true; message: T; manifest: Manifest } | { ok: false; verdict: Verdict };

/**
 * `payload` checked against `schema` (else dead-letter `invalidReason`) and its run's manifest read
 * (a run without one is dead-lettered as `unknown_run`).
 */
export async function readRunMessage<T extends { run_id: string; window_id: string }>(
  results: BlobStore,
  schema: z.ZodType<T>,
  payload: unknown,
  invalidReason: string,
): Promise<RunMessage<T>> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    return {
      ok: false,
      verdict: {
        kind: 'dead_letter',
        outcome: 'invalid',
        reason: invalidReason,
        issues: fromZodIssues(parsed.error.issues),
      },
    };
  }
  const { run_id, window_id } = parsed.data;
  const manifest = await readManifest(results, run_id);
  if (manifest === null) {
    return {
      ok: false,
      verdict: {
        kind: 'dead_letter',
        outcome: 'invalid',
        reason: 'unknown_run',
        issues: [{ path: 'run_id', message: `run ${run_id} has no manifest` }],
        fields: { run_id, window_id },
      },
    };
  }
  return { ok: true, message: parsed.data, manifest };
}
