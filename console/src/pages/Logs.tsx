/**
 * Logs: the execution event feed (GET /api/events), filterable, newest first. The first page is
 * live (polled); "Older events" reads the next pages with the feed's cursor and keeps them below.
 */
import { useEffect, useState } from 'react';
import { api, queryString, usePoll } from '../api.ts';
import { ErrorLine } from '../components/ErrorLine.tsx';
import { FilterFields, useFilters } from '../components/Filters.tsx';
import { fmtTime, localInputToNs } from '../format.ts';
import { Link } from '../router.tsx';
import type { EventEntryView } from '../types.ts';

export function LogsPage() {
  const [f, set] = useFilters({ category: '', outcome: '', venue: '', instrument_key: '', from: '', to: '' });
  const qs = queryString({
    category: f.category,
    outcome: f.outcome,
    venue: f.venue,
    instrument_key: f.instrument_key,
    from: localInputToNs(f.from),
    to: localInputToNs(f.to),
    limit: '300',
  });
  const events = usePoll<{ events: EventEntryView[]; next_cursor: string | null }>(`/api/events${qs}`, 2000);
  const [older, setOlder] = useState<{ events: EventEntryView[]; cursor: string | null } | null>(null);
  const [olderError, setOlderError] = useState<string | null>(null);
  // New filters start again from the newest page.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `qs` is the trigger
  useEffect(() => {
    setOlder(null);
    setOlderError(null);
  }, [qs]);
  const firstPage = events.data?.events ?? [];
  const shownIds = new Set(firstPage.map((e) => e.id));
  const rows = [...firstPage, ...(older?.events ?? []).filter((e) => !shownIds.has(e.id))];
  const cursor = older === null ? (events.data?.next_cursor ?? null) : older.cursor;
  const loadOlder = async () => {
    if (cursor === null) return;
    setOlderError(null);
    try {
      const sep = qs === '' ? '?' : '&';
      const page = await api<{ events: EventEntryView[]; next_cursor: string | null }>(
        `/api/events${qs}${sep}cursor=${encodeURIComponent(cursor)}`,
      );
      setOlder({ events: [...(older?.events ?? []), ...page.events], cursor: page.next_cursor });
    } catch (err) {
      setOlderError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <section className="panel" aria-labelledby="logs-h">
      <h1 id="logs-h">Logs</h1>
      <form className="filters" aria-label="Event filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Outcome
          <select value={f.outcome} onChange={set('outcome')}>
            <option value="">any</option>
            <option value="executed">executed</option>
            <option value="denied,rejected">denied or rejected</option>
            <option value="denied">denied</option>
            <option value="rejected">rejected</option>
            <option value="canceled">canceled</option>
            <option value="warning">warning</option>
            <option value="info">info</option>
          </select>
        </label>
        <label>
          Category
          <select value={f.category} onChange={set('category')}>
            <option value="">any</option>
            <option value="order">orders</option>
            <option value="trading_state">trading state</option>
            <option value="venue">venue sessions</option>
          </select>
        </label>
        <FilterFields
          fields={[
            ['venue', 'Venue'],
            ['instrument_key', 'Instrument'],
          ]}
          values={f}
          set={set}
          timeRange={{ from: 'from', to: 'to' }}
        />
      </form>
      <ErrorLine error={events.error} />
      <table className="grid-table log" aria-label="Execution events">
        <thead>
          <tr>
            <th>Time (UTC)</th>
            <th>Outcome</th>
            <th>Event</th>
            <th>Venue</th>
            <th>Instrument</th>
            <th>Order</th>
            <th>Who</th>
            <th>Message</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.id} className={`o-${e.outcome}`} data-testid="event-row" data-outcome={e.outcome}>
              <td>{fmtTime(e.ts_event, true)}</td>
              <td>{e.outcome}</td>
              <td>{e.type}</td>
              <td>{e.venue ?? ''}</td>
              <td>{e.instrument_key ?? ''}</td>
              <td>
                {e.operation_id ? (
                  <Link to={`/orders/${encodeURIComponent(e.operation_id)}`}>{e.operation_id}</Link>
                ) : (
                  ''
                )}
              </td>
              <td>{e.actor ?? ''}</td>
              <td>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorLine error={olderError} />
      <p className="muted small">
        {rows.length} event(s){' '}
        {cursor !== null ? (
          <button type="button" onClick={loadOlder} data-testid="older-events">
            Older events
          </button>
        ) : (
          '· the oldest shown'
        )}
      </p>
    </section>
  );
}
