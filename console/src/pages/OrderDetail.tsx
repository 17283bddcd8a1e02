/**
 * One order: header (status, venue order id, quantities), cancel, the timeline — received → risk
 * decision with every rule's limit and observed value → routing decision with every venue's score
 * → venue ack → fills → final — the fills, and the children of an algorithm parent.
 */
import { useState } from 'react';
import { api, usePoll } from '../api.ts';
import { fmtNum, fmtTime, statusClass, TERMINAL } from '../format.ts';
import { Link } from '../router.tsx';
import type {
  OrderDetailView,
  OrderRecordView,
  RiskCheckView,
  TimelineEventView,
  VenueScoreView,
} from '../types.ts';

function Checks({ checks }: { checks: RiskCheckView[] }) {
  return (
    <table className="grid-table compact" aria-label="Risk checks">
      <thead>
        <tr>
          <th>Rule</th>
          <th>Result</th>
          <th className="num">Limit</th>
          <th className="num">Observed</th>
          <th>Note</th>
        </tr>
      </thead>
      <tbody>
        {checks.map((c) => (
          <tr key={c.rule}>
            <td>{c.rule}</td>
            <td className={c.passed ? 'ok' : 'bad'}>{c.passed ? 'pass' : 'FAIL'}</td>
            <td className="num">{c.limit ?? '–'}</td>
            <td className="num">{c.observed ?? '–'}</td>
            <td className="muted">{c.message ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Scores({ scores, chosen }: { scores: VenueScoreView[]; chosen: string }) {
  const b = (v: number | null) => (v === null ? '–' : v.toFixed(2));
  return (
    <table className="grid-table compact" aria-label="Routing scores" data-testid="routing-scores">
      <thead>
        <tr>
          <th>Venue</th>
          <th>Eligible</th>
          <th className="num">Total bps</th>
          <th className="num">Fee</th>
          <th className="num">Slippage</th>
          <th className="num">Latency</th>
          <th className="num">Rejection</th>
          <th>Reason</th>
        </tr>
      </thead>
      <tbody>
        {scores.map((s) => (
          <tr key={s.venue} className={s.venue === chosen ? 'chosen' : undefined}>
            <td>
              {s.venue}
              {s.venue === chosen ? ' ✓' : ''}
            </td>
            <td className={s.eligible ? 'ok' : 'bad'}>{s.eligible ? 'yes' : 'no'}</td>
            <td className="num">{b(s.total_cost_bps)}</td>
            <td className="num">{b(s.fee_bps)}</td>
            <td className="num">{b(s.slippage_bps)}</td>
            <td className="num">{b(s.latency_bps)}</td>
            <td className="num">{b(s.rejection_bps)}</td>
            <td className="muted">{s.reason ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v);
}

/** Who asked for the order or its cancel (the verified caller recorded on the event), or ''. */
function byOf(e: TimelineEventView): string {
  const by = (e as { by?: unknown }).by;
  return by !== null && typeof by === 'object' && 'id' in by ? str((by as { id: unknown }).id) : '';
}

function TimelineItem({ e }: { e: TimelineEventView }) {
  let body = null;
  let summary = '';
  switch (e.type) {
    case 'OrderReceived': {
      const i = e.instruction as Record<string, unknown>;
      summary = `${str(i.side)} ${str(i.quantity)} ${str(i.instrument_key)} ${str(i.order_type)}${i.price ? ` @ ${str(i.price)}` : ''} ${str(i.time_in_force)} ${str(i.exec_algorithm)}${byOf(e) ? ` — by ${byOf(e)}` : ''}`;
      break;
    }
    case 'OrderRiskApproved':
      summary = 'every pre-trade rule passed';
      body = <Checks checks={e.checks as RiskCheckView[]} />;
      break;
    case 'OrderDenied':
      summary = `rule ${str(e.rule)}: ${str(e.reason)} (limit ${str(e.limit) || '–'}, observed ${str(e.observed) || '–'})`;
      body = <Checks checks={e.checks as RiskCheckView[]} />;
      break;
    case 'OrderRouted':
      summary = `to ${str(e.venue)}: ${str(e.reason)}`;
      body = <Scores scores={e.scores as VenueScoreView[]} chosen={str(e.venue)} />;
      break;
    case 'OrderSubmitted':
      summary = `sent to ${str(e.venue)} as ${str(e.client_order_id)}`;
      break;
    case 'OrderAccepted':
      summary = `venue order id ${str(e.venue_order_id)}`;
      break;
    case 'OrderFilled': {
      const f = e.fill as Record<string, unknown>;
      summary = `${str(f.quantity)} @ ${str(f.price)} (${str(f.liquidity)}, fee ${str(f.fee)} ${str(f.fee_currency)})`;
      break;
    }
    default:
      summary = `${str(e.reason)}${byOf(e) ? ` — by ${byOf(e)}` : ''}`;
  }
  const cls =
    e.type === 'OrderDenied' || e.type === 'OrderRejected' ? 'bad' : e.type === 'OrderFilled' ? 'ok' : '';
  return (
    <li className={`tl ${cls}`} data-testid="timeline-event" data-type={e.type}>
      <span className="tl-time">{fmtTime(e.ts_event)}</span>
      <span className="tl-type">{e.type.replace(/^Order/, '')}</span>
      <span className="tl-summary">{summary}</span>
      {body}
    </li>
  );
}

export function OrderDetailPage({ operationId }: { operationId: string }) {
  const path = `/api/orders/${encodeURIComponent(operationId)}`;
  const detail = usePoll<OrderDetailView>(path, 1000);
  const d = detail.data;
  const children = usePoll<{ orders: OrderRecordView[] }>(
    d !== null && d.order.exec_algorithm !== 'NORMAL'
      ? `/api/orders?parent_order_id=${encodeURIComponent(d.order.order_id)}&limit=500`
      : null,
    2000,
  );
  const [cancel, setCancel] = useState<string | null>(null);

  const doCancel = async () => {
    if (!window.confirm(`Cancel ${operationId}?`)) return;
    try {
      await api(path, { method: 'DELETE', body: { reason: 'canceled from the console' } });
      setCancel('cancel sent');
      detail.reload();
    } catch (err) {
      setCancel(err instanceof Error ? err.message : String(err));
    }
  };

  if (detail.error && d === null)
    return (
      <section className="panel">
        <h1>Order {operationId}</h1>
        <p className="error" role="alert">
          {detail.error}
        </p>
      </section>
    );
  if (d === null)
    return (
      <section className="panel">
        <h1>Order {operationId}</h1>
        <p className="muted">Loading…</p>
      </section>
    );
  const o = d.order;
  return (
    <div className="stack">
      <section className="panel" aria-labelledby="order-h">
        <p className="crumb">
          <Link to="/orders">Orders</Link> /
        </p>
        <h1 id="order-h">
          {o.side} {o.quantity} {o.instrument_key}{' '}
          <span className={`status ${statusClass(o.status)}`} data-testid="order-status">
            {o.status}
          </span>
        </h1>
        <dl className="facts">
          <dt>Operation id</dt>
          <dd>{o.operation_id}</dd>
          <dt>Order id</dt>
          <dd>{o.order_id}</dd>
          <dt>Venue</dt>
          <dd>{o.venue ?? '–'}</dd>
          <dt>Venue order id</dt>
          <dd data-testid="venue-order-id">{o.venue_order_id ?? '–'}</dd>
          <dt>Type</dt>
          <dd>
            {o.order_type} {o.time_in_force} {o.price ?? ''}
          </dd>
          <dt>Algorithm</dt>
          <dd>
            {o.exec_algorithm}{' '}
            {Object.keys(o.exec_algorithm_params).length > 0 ? JSON.stringify(o.exec_algorithm_params) : ''}
          </dd>
          <dt>Strategy</dt>
          <dd>{o.strategy_id}</dd>
          <dt>Filled</dt>
          <dd>
            {fmtNum(o.filled_quantity, 8)} @ {fmtNum(o.avg_fill_price, 8)}, fees {fmtNum(o.fees, 8)}
          </dd>
          {o.rejection_reason ? (
            <>
              <dt>Reason</dt>
              <dd className="bad">{o.rejection_reason}</dd>
            </>
          ) : null}
          {o.parent_order_id ? (
            <>
              <dt>Parent</dt>
              <dd>{o.parent_order_id}</dd>
            </>
          ) : null}
        </dl>
        {!TERMINAL.has(o.status) ? (
          <button type="button" className="danger" onClick={doCancel}>
            Cancel order
          </button>
        ) : null}
        {cancel ? <p role="status">{cancel}</p> : null}
      </section>
      <section className="panel" aria-labelledby="timeline-h">
        <h2 id="timeline-h">Timeline</h2>
        <ol className="timeline">
          {d.timeline.map((e) => (
            <TimelineItem key={`${e.type}-${e.ts_event}-${JSON.stringify(e.fill ?? '')}`} e={e} />
          ))}
        </ol>
      </section>
      <section className="panel" aria-labelledby="fills-h">
        <h2 id="fills-h">Fills</h2>
        {d.fill_records.length === 0 ? (
          <p className="muted">No fills.</p>
        ) : (
          <table className="grid-table" aria-label="Fills" data-testid="fills">
            <thead>
              <tr>
                <th>Time</th>
                <th>Fill id</th>
                <th>Venue</th>
                <th className="num">Price</th>
                <th className="num">Quantity</th>
                <th className="num">Fee</th>
                <th>Liquidity</th>
              </tr>
            </thead>
            <tbody>
              {d.fill_records.map((f) => (
                <tr key={f.fill_id}>
                  <td>{fmtTime(f.ts_event, true)}</td>
                  <td>{f.fill_id}</td>
                  <td>{f.venue}</td>
                  <td className="num">{f.price}</td>
                  <td className="num">{f.quantity}</td>
                  <td className="num">
                    {f.fee} {f.fee_currency}
                  </td>
                  <td>{f.liquidity}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {o.exec_algorithm !== 'NORMAL' ? (
        <section className="panel" aria-labelledby="children-h">
          <h2 id="children-h">Child orders</h2>
          <table className="grid-table" aria-label="Child orders">
            <thead>
              <tr>
                <th>Created</th>
                <th>Operation</th>
                <th>Status</th>
                <th className="num">Qty</th>
                <th className="num">Filled</th>
                <th className="num">Avg fill</th>
                <th>Venue</th>
              </tr>
            </thead>
            <tbody>
              {(children.data?.orders ?? []).map((c) => (
                <tr key={c.operation_id}>
                  <td>{fmtTime(c.ts_created)}</td>
                  <td>
                    <Link to={`/orders/${encodeURIComponent(c.operation_id)}`}>{c.operation_id}</Link>
                  </td>
                  <td>
                    <span className={`status ${statusClass(c.status)}`}>{c.status}</span>
                  </td>
                  <td className="num">{c.quantity}</td>
                  <td className="num">{c.filled_quantity}</td>
                  <td className="num">{c.avg_fill_price ?? '–'}</td>
                  <td>{c.venue ?? '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
    </div>
  );
}
