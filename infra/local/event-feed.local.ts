/**
 * The embedded execution event feed: entries in memory, each new one appended to
 * `<dataDir>/event-feed.jsonl` (`{"op":"append","entry":{...}}`, exact bigints) and replayed at
 * start-up. `dataDir: null` keeps it in memory only. Ids already stored are left as they are, so
 * the journal holds each entry once.
 *
 * Entries are kept sorted newest first (a binary-search insert: new events land at the front);
 * a read binary-searches the cursor and scans the filters from there (the embedded default's
 * volumes: thousands to a few hundred thousand).
 */
import {
  checkEventEntry,
  compareNewestFirst,
  decodeEventCursor,
  type EventFeedPage,
  type EventFeedQuery,
  type EventFeedStore,
  type EventPosition,
  type ExecutionEventEntry,
  ExecutionEventEntrySchema,
  encodeEventCursor,
  matchesEventQuery,
} from '../../shared/ports/event-feed-store.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalEventFeedStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `event-feed.jsonl`). */
  fileName?: string;
}

export class LocalEventFeedStore implements EventFeedStore {
  private readonly byId = new Map<string, ExecutionEventEntry>();
  /** Newest first. */
  private readonly sorted: ExecutionEventEntry[] = [];
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalEventFeedStoreOptions): Promise<LocalEventFeedStore> {
    const store = new LocalEventFeedStore();
    store.journal = await openStoreJournal(opts, 'event-feed.jsonl', (rec, where) =>
      store.replay(rec, where),
    );
    return store;
  }

  static memory(): LocalEventFeedStore {
    return new LocalEventFeedStore();
  }

  async append(entries: readonly ExecutionEventEntry[]): Promise<number> {
    this.assertUsable();
    const fresh: ExecutionEventEntry[] = [];
    const ids = new Set<string>();
    for (const raw of entries) {
      const e = checkEventEntry(raw);
      if (this.byId.has(e.id) || ids.has(e.id)) continue;
      ids.add(e.id);
      fresh.push(structuredClone(e));
    }
    for (const e of fresh) this.add(e);
    if (this.journal) for (const e of fresh) await this.journal.append({ op: 'append', entry: e });
    return fresh.length;
  }

  async page(q: EventFeedQuery): Promise<EventFeedPage> {
    this.assertUsable();
    const all = this.sorted;
    const start = q.cursor === undefined ? 0 : this.after(decodeEventCursor(q.cursor));
    const events: ExecutionEventEntry[] = [];
    let more = false;
    for (let i = start; i < all.length; i++) {
      const e = all[i] as ExecutionEventEntry;
      if (q.from !== undefined && e.ts_event < q.from) break; // older than the window: nothing further matches
      if (!matchesEventQuery(e, q)) continue;
      if (events.length === q.limit) {
        more = true;
        break;
      }
      events.push(structuredClone(e));
    }
    if (this.journal) await this.journal.flushed();
    const last = events[events.length - 1];
    return { events, next_cursor: more && last !== undefined ? encodeEventCursor(last) : null };
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return journaledHealth('event feed', this.closed, this.journal, `, ${this.byId.size} events`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  /** The first index strictly after `p` in the newest-first order. */
  private after(p: EventPosition): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareNewestFirst(this.sorted[mid] as ExecutionEventEntry, p) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private add(e: ExecutionEventEntry): void {
    this.byId.set(e.id, e);
    this.sorted.splice(this.after(e), 0, e);
  }

  private replay(raw: unknown, where: string): void {
    if (typeof raw !== 'object' || raw === null || (raw as { op?: unknown }).op !== 'append') {
      throw new Error(`${where}: not an event feed journal record`);
    }
    const r = ExecutionEventEntrySchema.safeParse((raw as { entry?: unknown }).entry);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new Error(
        `${where}: corrupt event feed entry at ${i?.path.map(String).join('.') ?? ''}: ${i?.message ?? ''}`,
      );
    }
    if (!this.byId.has(r.data.id)) this.add(r.data);
  }

  private assertUsable(): void {
    assertJournaledUsable('event feed', 'event feed', this.closed, this.journal);
  }
}
