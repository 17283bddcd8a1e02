/** Execute: the order ticket, then the order's status as it moves (polled each second). */
import { useEffect, useState } from 'react';
import { ApiFailure, api, usePoll } from '../api.ts';
import { ErrorLine } from '../components/ErrorLine.tsx';
import { OrderForm } from '../components/OrderForm.tsx';
import { fmtNum, statusClass, TERMINAL } from '../format.ts';
import { Link } from '../router.tsx';
import type { OrderDetailView, VenueView } from '../types.ts';

interface Sent {
  operation_id: string;
  status: string;
  at: string;
}

export function ExecutePage() {
  const instruments = usePoll<{ instruments: Array<{ instrument_key: string }> }>('/api/instruments', 0);
  const venues = usePoll<{ venues: VenueView[] }>('/api/venues', 0);
  const [sent, setSent] = useState<Sent[]>([]);
  const [failure, setFailure] = useState<string | null>(null);

  const submit = async (body: Record<string, unknown>) => {
    setFailure(null);
    try {
      const reply = await api<{ operation_id: string; status: string }>('/api/orders', {
        method: 'POST',
        body,
      });
      setSent((s) =>
        [
          { operation_id: reply.operation_id, status: reply.status, at: new Date().toISOString() },
          ...s,
        ].slice(0, 8),
      );
      return;
    } catch (err) {
      if (err instanceof ApiFailure && err.issues.length > 0) {
        setFailure(`${err.code}: ${err.message}`);
        return { issues: err.issues };
      }
      setFailure(err instanceof Error ? err.message : String(err));
      return;
    }
  };

  return (
    <div className="cols">
      <section className="panel" aria-labelledby="execute-h">
        <h1 id="execute-h">Execute</h1>
        <OrderForm
          instruments={(instruments.data?.instruments ?? []).map((i) => i.instrument_key)}
          venues={venues.data?.venues ?? []}
          baseUrl={window.location.origin}
          onSubmit={submit}
        />
        <ErrorLine error={failure} />
      </section>
      <section className="panel narrow" aria-labelledby="sent-h">
        <h2 id="sent-h">Sent from here</h2>
        {sent.length === 0 ? (
          <p className="muted">Orders you submit appear here with their live status.</p>
        ) : null}
        <ul className="sent" aria-live="polite">
          {sent.map((s) => (
            <SentOrder key={s.operation_id} operationId={s.operation_id} />
          ))}
        </ul>
      </section>
    </div>
  );
}

function SentOrder({ operationId }: { operationId: string }) {
  const [done, setDone] = useState(false);
  const detail = usePoll<OrderDetailView>(`/api/orders/${encodeURIComponent(operationId)}`, done ? 0 : 1000);
  const d = detail.data;
  const terminal = d !== null && TERMINAL.has(d.status);
  useEffect(() => {
    if (terminal) setDone(true);
  }, [terminal]);
  return (
    <li data-testid="sent-order" data-operation-id={operationId}>
      <Link to={`/orders/${encodeURIComponent(operationId)}`}>{operationId}</Link>{' '}
      <span className={`status ${statusClass(d?.status ?? 'PENDING')}`} data-testid="sent-status">
        {d?.status ?? '…'}
      </span>
      {d ? (
        <div className="muted small">
          {d.order.side} {d.order.quantity} {d.order.instrument_key} → {d.venue ?? 'unrouted'}; filled{' '}
          {fmtNum(d.order.filled_quantity, 8)} @ {fmtNum(d.order.avg_fill_price, 8)}
          {d.order.rejection_reason ? ` — ${d.order.rejection_reason}` : ''}
        </div>
      ) : null}
    </li>
  );
}
