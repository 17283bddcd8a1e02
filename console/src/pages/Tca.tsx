/**
 * TCA of live orders (GET /api/tca): arrival mid, average fill, implementation shortfall and
 * slippage vs mid (bps), fees and fill ratio — per order and per venue / algorithm / strategy, with
 * the definitions of the backtest summary so live and backtest figures compare directly.
 */
import { queryString, usePoll } from '../api.ts';
import { ErrorLine } from '../components/ErrorLine.tsx';
import { FilterFields, useFilters } from '../components/Filters.tsx';
import { fmtBps, fmtNum, fmtPct, localInputToNs } from '../format.ts';
import { Link } from '../router.tsx';
import type { TcaFiguresView } from '../types.ts';

interface OrderTcaView extends TcaFiguresView {
  operation_id: string;
  instrument_key: string;
  side: string;
  venue: string | null;
  exec_algorithm: string;
  strategy_id: string;
  status: string;
  arrival_mid: string | null;
}
interface TcaView {
  orders: OrderTcaView[];
  by_venue: Array<TcaFiguresView & { key: string }>;
  by_algorithm: Array<TcaFiguresView & { key: string }>;
  by_strategy: Array<TcaFiguresView & { key: string }>;
  total: TcaFiguresView;
}

function Groups({ title, rows }: { title: string; rows: Array<TcaFiguresView & { key: string }> }) {
  return (
    <table className="grid-table compact" aria-label={`TCA by ${title}`}>
      <thead>
        <tr>
          <th>{title}</th>
          <th className="num">Orders</th>
          <th className="num">Fills</th>
          <th className="num">Notional</th>
          <th className="num">Fees</th>
          <th className="num">IS</th>
          <th className="num">Slippage</th>
          <th className="num">Fill ratio</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>{r.key}</td>
            <td className="num">{r.orders}</td>
            <td className="num">{r.fills}</td>
            <td className="num">{fmtNum(r.traded_notional)}</td>
            <td className="num">{fmtNum(r.fees, 6)}</td>
            <td className="num">{fmtBps(r.implementation_shortfall_bps)}</td>
            <td className="num">{fmtBps(r.slippage_bps)}</td>
            <td className="num">{fmtPct(r.fill_ratio, 1)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TcaPage() {
  const [f, set] = useFilters({ venue: '', strategy_id: '', instrument_key: '', from: '', to: '' });
  const qs = queryString({ ...f, from: localInputToNs(f.from), to: localInputToNs(f.to), limit: '500' });
  const tca = usePoll<TcaView>(`/api/tca${qs}`, 5000);
  const t = tca.data?.total;
  return (
    <div className="stack">
      <section className="panel" aria-labelledby="tca-h">
        <h1 id="tca-h">Transaction-cost analysis</h1>
        <form className="filters" aria-label="TCA filters" onSubmit={(e) => e.preventDefault()}>
          <FilterFields
            fields={[
              ['venue', 'Venue'],
              ['strategy_id', 'Strategy'],
              ['instrument_key', 'Instrument'],
            ]}
            values={f}
            set={set}
            timeRange={{ from: 'from', to: 'to' }}
          />
        </form>
        <ErrorLine error={tca.error} />
        {t ? (
          <dl className="facts wide" aria-label="All orders">
            <div>
              <dt>Orders</dt>
              <dd>{t.orders}</dd>
            </div>
            <div>
              <dt>Implementation shortfall</dt>
              <dd>{fmtBps(t.implementation_shortfall_bps)}</dd>
            </div>
            <div>
              <dt>Slippage vs mid</dt>
              <dd>{fmtBps(t.slippage_bps)}</dd>
            </div>
            <div>
              <dt>Fees</dt>
              <dd>{fmtNum(t.fees, 6)}</dd>
            </div>
            <div>
              <dt>Fill ratio</dt>
              <dd>{fmtPct(t.fill_ratio, 1)}</dd>
            </div>
            <div>
              <dt>Traded notional</dt>
              <dd>{fmtNum(t.traded_notional)}</dd>
            </div>
          </dl>
        ) : null}
        <p className="muted small">
          Same definitions as the backtest summary: IS = side × (filled notional − filled qty × arrival mid) +
          fees over filled qty × arrival mid; slippage = side × (fill − arrival mid) × qty over mid × qty.
        </p>
      </section>
      <section className="panel groups" aria-label="TCA by venue, algorithm and strategy">
        <Groups title="Venue" rows={tca.data?.by_venue ?? []} />
        <Groups title="Algorithm" rows={tca.data?.by_algorithm ?? []} />
        <Groups title="Strategy" rows={tca.data?.by_strategy ?? []} />
      </section>
      <section className="panel" aria-labelledby="tca-orders-h">
        <h2 id="tca-orders-h">Per order</h2>
        <table className="grid-table" aria-label="TCA per order">
          <thead>
            <tr>
              <th>Order</th>
              <th>Side</th>
              <th>Instrument</th>
              <th>Venue</th>
              <th>Algo</th>
              <th className="num">Arrival mid</th>
              <th className="num">Avg fill</th>
              <th className="num">IS</th>
              <th className="num">Slippage</th>
              <th className="num">Fees</th>
              <th className="num">Fill ratio</th>
            </tr>
          </thead>
          <tbody>
            {(tca.data?.orders ?? []).map((o) => (
              <tr key={o.operation_id}>
                <td>
                  <Link to={`/orders/${encodeURIComponent(o.operation_id)}`}>{o.operation_id}</Link>
                </td>
                <td>{o.side}</td>
                <td>{o.instrument_key}</td>
                <td>{o.venue ?? '–'}</td>
                <td>{o.exec_algorithm}</td>
                <td className="num">{fmtNum(o.arrival_mid, 8)}</td>
                <td className="num">{fmtNum(o.avg_fill_price, 8)}</td>
                <td className="num">{fmtBps(o.implementation_shortfall_bps)}</td>
                <td className="num">{fmtBps(o.slippage_bps)}</td>
                <td className="num">{fmtNum(o.fees, 6)}</td>
                <td className="num">{fmtPct(o.fill_ratio, 1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
