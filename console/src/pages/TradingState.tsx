/**
 * Trading state control: ACTIVE / REDUCING / HALTED for the platform or one strategy, with a
 * required reason and a confirmation; the change is recorded with who and when (history below).
 */
import { useRef, useState } from 'react';
import { api, usePoll } from '../api.ts';
import { TradingStateForm } from '../components/TradingStateForm.tsx';
import { fmtTime } from '../format.ts';
import type { TradingStateView } from '../types.ts';

export function TradingStatePage() {
  const view = usePoll<TradingStateView>('/api/trading-state', 1000);
  const [done, setDone] = useState<string | null>(null);
  const statusRef = useRef<HTMLParagraphElement>(null);
  const v = view.data;
  return (
    <div className="stack">
      <section className="panel" aria-labelledby="ts-h">
        <h1 id="ts-h">Trading state</h1>
        <p className="big">
          Platform:{' '}
          <span className={`badge ts-${(v?.state ?? 'unknown').toLowerCase()}`} data-testid="global-state">
            {v?.state ?? '…'}
          </span>
          {v?.global ? (
            <span className="muted small">
              {' '}
              since {fmtTime(v.global.ts_updated, true)} by {v.global.updated_by}: {v.global.reason}
            </span>
          ) : null}
        </p>
        {v && Object.keys(v.strategies).length > 0 ? (
          <table className="grid-table compact" aria-label="Strategy states">
            <thead>
              <tr>
                <th>Strategy</th>
                <th>State</th>
                <th>Since</th>
                <th>By</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(v.strategies).map(([id, e]) => (
                <tr key={id}>
                  <td>{id}</td>
                  <td>
                    <span className={`badge ts-${e.state.toLowerCase()}`}>{e.state}</span>
                  </td>
                  <td>{fmtTime(e.ts_updated, true)}</td>
                  <td>{e.updated_by}</td>
                  <td>{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        <TradingStateForm
          current={v?.state ?? null}
          onSubmit={async (body) => {
            const r = await api<{ state: string; version: number }>('/api/trading-state', {
              method: 'PUT',
              body,
            });
            setDone(`${body.strategy_id ? `strategy ${body.strategy_id}` : 'platform'} is now ${r.state}`);
            view.reload();
            statusRef.current?.focus();
          }}
        />
        <p ref={statusRef} tabIndex={-1} role="status" data-testid="trading-state-result">
          {done ?? ''}
        </p>
      </section>
      <section className="panel" aria-labelledby="tsh-h">
        <h2 id="tsh-h">Changes</h2>
        <table className="grid-table" aria-label="Trading state changes">
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Scope</th>
              <th>From</th>
              <th>To</th>
              <th>Who</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            {(v?.history ?? []).map((h) => (
              <tr key={`${h.scope.kind}-${h.scope.strategy_id ?? ''}-${h.version}`}>
                <td>{fmtTime(h.ts_updated, true)}</td>
                <td>{h.scope.kind === 'global' ? 'platform' : `strategy ${h.scope.strategy_id}`}</td>
                <td>{h.previous ?? '–'}</td>
                <td>
                  <span className={`badge ts-${h.state.toLowerCase()}`}>{h.state}</span>
                </td>
                <td>{h.updated_by}</td>
                <td>{h.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
