/** Orders: filters (status, venue, instrument, strategy, time range), search by operation or order id. */

import { queryString, usePoll } from '../api.ts';
import { ErrorLine } from '../components/ErrorLine.tsx';
import { FilterFields, useFilters } from '../components/Filters.tsx';
import { fmtNum, fmtTime, localInputToNs, statusClass } from '../format.ts';
import { Link, navigate } from '../router.tsx';
import type { OrderRecordView } from '../types.ts';

const STATUSES = [
  'PENDING',
  'SUBMITTED',
  'ACCEPTED',
  'PARTIALLY_FILLED',
  'FILLED',
  'PENDING_CANCEL',
  'CANCELED',
  'DENIED',
  'REJECTED',
  'EXPIRED',
];

export function OrdersPage() {
  const [f, set] = useFilters({
    status: '',
    venue: '',
    instrument_key: '',
    strategy_id: '',
    from: '',
    to: '',
    search: '',
  });
  const qs = queryString({
    status: f.status,
    venue: f.venue,
    instrument_key: f.instrument_key,
    strategy_id: f.strategy_id,
    from: localInputToNs(f.from),
    to: localInputToNs(f.to),
    limit: '200',
  });
  const list = usePoll<{ orders: OrderRecordView[] }>(`/api/orders${qs}`, 2000);
  const search = f.search.trim();
  const rows = (list.data?.orders ?? []).filter(
    (o) =>
      search === '' ||
      o.operation_id.includes(search) ||
      o.order_id.includes(search) ||
      (o.venue_order_id ?? '').includes(search),
  );
  return (
    <section className="panel" aria-labelledby="orders-h">
      <h1 id="orders-h">Orders</h1>
      <form
        className="filters"
        aria-label="Order filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (search !== '' && rows.length === 0) navigate(`/orders/${encodeURIComponent(search)}`);
          else if (rows.length === 1 && rows[0])
            navigate(`/orders/${encodeURIComponent(rows[0].operation_id)}`);
        }}
      >
        <label>
          Search id
          <input value={f.search} onChange={set('search')} placeholder="operation, order or venue order id" />
        </label>
        <label>
          Status
          <select value={f.status} onChange={set('status')}>
            <option value="">any</option>
            <option value="PENDING,SUBMITTED,ACCEPTED,PARTIALLY_FILLED,PENDING_CANCEL">working</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <FilterFields
          fields={[
            ['venue', 'Venue'],
            ['instrument_key', 'Instrument'],
            ['strategy_id', 'Strategy'],
          ]}
          values={f}
          set={set}
          timeRange={{ from: 'from', to: 'to' }}
        />
        <button type="submit">Open</button>
      </form>
      <ErrorLine error={list.error} />
      <table className="grid-table" aria-label="Orders">
        <thead>
          <tr>
            <th>Created</th>
            <th>Operation</th>
            <th>Status</th>
            <th>Side</th>
            <th className="num">Qty</th>
            <th className="num">Filled</th>
            <th className="num">Price</th>
            <th className="num">Avg fill</th>
            <th>Instrument</th>
            <th>Venue</th>
            <th>Algo</th>
            <th>Strategy</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((o) => (
            <tr key={o.operation_id} data-testid="order-row" data-status={o.status}>
              <td>{fmtTime(o.ts_created, true)}</td>
              <td>
                <Link to={`/orders/${encodeURIComponent(o.operation_id)}`}>{o.operation_id}</Link>
                {o.parent_order_id ? <span className="muted small"> child</span> : null}
              </td>
              <td>
                <span className={`status ${statusClass(o.status)}`}>{o.status}</span>
              </td>
              <td className={o.side === 'BUY' ? 'buy' : 'sell'}>{o.side}</td>
              <td className="num">{fmtNum(o.quantity, 8)}</td>
              <td className="num">{fmtNum(o.filled_quantity, 8)}</td>
              <td className="num">{fmtNum(o.price, 8)}</td>
              <td className="num">{fmtNum(o.avg_fill_price, 8)}</td>
              <td>{o.instrument_key}</td>
              <td>{o.venue ?? '–'}</td>
              <td>{o.exec_algorithm}</td>
              <td>{o.strategy_id}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data !== null && rows.length === 0 ? <p className="muted">No orders match.</p> : null}
    </section>
  );
}
