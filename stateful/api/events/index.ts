/**
 * `GET /api/events?category=&outcome=&venue=&instrument_key=&operation_id=&from=&to=&limit=&cursor=`:
 * the execution event feed (shared/ports/event-feed-store.ts, written by ./writer.ts), newest
 * first, one page at a time — orders executed vs denied / rejected with their reasons, routing
 * decisions, trading-state changes, venue sessions, reconciliation and drift. `next_cursor` asks
 * for the next (older) page.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { InstrumentKeySchema } from '../../../shared/domain/instrument-id.ts';
import { decodeEventCursor } from '../../../shared/ports/event-feed-store.ts';
import { callDependency } from '../errors/index.ts';
import { sendJson } from '../json/index.ts';
import { parseQuery, QueryText, QueryTimestamp } from '../schemas/index.ts';
import type { ApiEnv } from '../types.ts';
import { EVENT_CATEGORIES, EVENT_OUTCOMES, type EventFeedPage, type EventQuery } from './feed.ts';

function isCursor(s: string): boolean {
  try {
    decodeEventCursor(s);
    return true;
  } catch {
    return false;
  }
}

export const DEFAULT_EVENT_LIMIT = 200;
export const MAX_EVENT_LIMIT = 1000;

function listOf<T extends string>(values: readonly T[], what: string) {
  return z
    .string()
    .transform((s, ctx): T[] => {
      const out: T[] = [];
      for (const raw of s.split(',')) {
        const v = raw.trim().toLowerCase();
        const hit = values.find((x) => x === v);
        if (hit === undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `unknown ${what} ${JSON.stringify(raw.trim())}; expected one or more (comma-separated) of ${values.join(', ')}`,
          });
          return z.NEVER;
        }
        if (!out.includes(hit)) out.push(hit);
      }
      return out;
    })
    .meta({ description: `One or several, comma-separated: ${values.join(', ')}` });
}

export const EventQuerySchema = z
  .strictObject({
    category: listOf(EVENT_CATEGORIES, 'category').optional(),
    outcome: listOf(EVENT_OUTCOMES, 'outcome').optional(),
    venue: QueryText('Venue id, e.g. BINANCE-SPOT').optional(),
    instrument_key: InstrumentKeySchema.optional(),
    operation_id: QueryText('Only the events of this order').optional(),
    from: QueryTimestamp.optional(),
    to: QueryTimestamp.optional(),
    limit: z
      .string()
      .regex(/^\d+$/, { error: `must be an integer between 1 and ${MAX_EVENT_LIMIT}` })
      .transform(Number)
      .pipe(
        z
          .int()
          .min(1, { error: `must be an integer between 1 and ${MAX_EVENT_LIMIT}` })
          .max(MAX_EVENT_LIMIT, { error: `must be an integer between 1 and ${MAX_EVENT_LIMIT}` }),
      )
      .optional()
      .meta({ description: `Most events returned, newest first (default ${DEFAULT_EVENT_LIMIT})` }),
    cursor: z
      .string()
      .refine(isCursor, { error: 'is not a cursor this API issued: pass next_cursor of the previous page' })
      .optional()
      .meta({ description: 'The `next_cursor` of the previous page: the next (older) events' }),
  })
  .superRefine((v, ctx) => {
    if (v.from !== undefined && v.to !== undefined && v.to <= v.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
    }
  });

export function parseEventQuery(queries: Record<string, string[]>): EventQuery {
  const q = parseQuery(EventQuerySchema, queries, Object.keys(EventQuerySchema.shape));
  const out: EventQuery = { limit: q.limit ?? DEFAULT_EVENT_LIMIT };
  if (q.category !== undefined) out.category = q.category;
  if (q.outcome !== undefined) out.outcome = q.outcome;
  if (q.venue !== undefined) out.venue = q.venue;
  if (q.instrument_key !== undefined) out.instrument_key = q.instrument_key;
  if (q.operation_id !== undefined) out.operation_id = q.operation_id;
  if (q.from !== undefined) out.from = q.from;
  if (q.to !== undefined) out.to = q.to;
  if (q.cursor !== undefined) out.cursor = q.cursor;
  return out;
}

export type EventFeed = (q: EventQuery) => Promise<EventFeedPage>;

export function eventRoutes(feed: EventFeed): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const query = parseEventQuery(c.req.queries());
    const page = await callDependency('event feed', () => feed(query));
    return sendJson(
      c,
      200,
      { events: page.events, count: page.events.length, limit: query.limit, next_cursor: page.next_cursor },
      { 'Cache-Control': 'no-store' },
    );
  });
  return app;
}
