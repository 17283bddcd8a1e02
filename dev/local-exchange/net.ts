/** Plumbing shared by the local venues (dev/local-exchange, dev/local-deribit). */

import type { IncomingMessage } from 'node:http';
import { hrtime } from 'node:process';
import type { RawData } from 'ws';
import type { Nanos } from '../../shared/domain/time.ts';
import type { Clock } from '../../shared/ports/clock.ts';

/** Wall clock with ns resolution that never goes backwards. */
export class WallClock implements Clock {
  private readonly epoch = BigInt(Date.now()) * 1_000_000n;
  private readonly hr = hrtime.bigint();
  now(): Nanos {
    return this.epoch + (hrtime.bigint() - this.hr);
  }
}

/** A WebSocket message as text. */
export function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** An HTTP request's whole body as text. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
