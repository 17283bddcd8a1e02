/**
 * Backtests: runs from the results store; a run's figures, equity curve + drawdown, orders and
 * fills; where this deployment has a backtest runner, a form that starts a run (its progress shows
 * in the table while it runs).
 */
import { useMemo, useState } from 'react';
import type { BacktestStartRequest } from '../../../shared/backtest/start-request.ts';
import { api, usePoll } from '../api.ts';
import { BacktestForm, type BacktestInputsView } from '../components/BacktestForm.tsx';
import { EquityChart } from '../components/EquityChart.tsx';
import { ErrorLine } from '../components/ErrorLine.tsx';
import { fmtBps, fmtNum, fmtPct, fmtTime, signClass } from '../format.ts';
import { Link } from '../router.tsx';

interface RunRow {
  run_id: string;
  status: string;
  updated_ms: number | null;
  summary: Record<string, unknown> | null;
  error: string | null;
  progress?: { state: string; windows_total: number | null; windows_done: number; windows_failed: number };
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

export function BacktestsPage({ runId, runner }: { runId: string | null; runner: boolean }) {
  return runId === null ? <RunList runner={runner} /> : <RunDetail runId={runId} />;
}

function StartPanel({ onStarted }: { onStarted: () => void }) {
  const inputs = usePoll<BacktestInputsView>('/api/backtests/_inputs', 0);
  const [started, setStarted] = useState<string | null>(null);
  const submit = async (body: BacktestStartRequest) => {
    const r = await api<{ run_id: string; signals: { kept: number; total: number } }>('/api/backtests', {
      method: 'POST',
      body,
    });
    setStarted(`started ${r.run_id} with ${r.signals.kept} of ${r.signals.total} signals`);
    onStarted();
  };
  return (
    <section className="panel" aria-labelledby="bt-start-h">
      <h2 id="bt-start-h">Start a backtest</h2>
      <ErrorLine error={inputs.error} />
      <BacktestForm inputs={inputs.data} onSubmit={submit} />
      {started ? (
        <p className="muted small" role="status" data-testid="backtest-started">
          {started}
        </p>
      ) : null}
    </section>
  );
}

function progressText(r: RunRow): string {
  const p = r.progress;
  if (p === undefined || r.status !== 'running') return '';
  if (p.windows_total === null) return ' (planning)';
  return ` ${p.windows_done}/${p.windows_total} windows${p.windows_failed > 0 ? `, ${p.windows_failed} failed` : ''}`;
}

function RunList({ runner }: { runner: boolean }) {
  const [fast, setFast] = useState(false);
  const runs = usePoll<{ runs: RunRow[] }>('/api/backtests', fast ? 1000 : 5000);
  const running = (runs.data?.runs ?? []).some((r) => r.status === 'running');
  if (fast && runs.data !== null && !running) setFast(false);
  return (
    <div className="stack">
      {runner ? (
        <StartPanel
          onStarted={() => {
            setFast(true);
            runs.reload();
          }}
        />
      ) : (
        <p className="muted small" data-testid="backtest-runner-absent">
          Starting a backtest needs a backtest runner, absent in this deployment: use npm run backtest or the
          backtest functions.
        </p>
      )}
      <section className="panel" aria-labelledby="bt-h">
        <h1 id="bt-h">Backtests</h1>
        <ErrorLine error={runs.error} />
        <table className="grid-table" aria-label="Backtest runs">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th>Finished</th>
              <th className="num">Orders</th>
              <th className="num">Fills</th>
              <th className="num">PnL</th>
              <th className="num">Return</th>
              <th className="num">Sharpe</th>
              <th className="num">Max DD</th>
              <th className="num">IS</th>
              <th className="num">Slippage</th>
              <th className="num">Fill ratio</th>
            </tr>
          </thead>
          <tbody>
            {(runs.data?.runs ?? []).map((r) => {
              const s = r.summary ?? {};
              return (
                <tr key={r.run_id} data-testid="backtest-row" data-run-id={r.run_id} data-status={r.status}>
                  <td>
                    {r.status === 'completed' ? (
                      <Link to={`/backtests/${encodeURIComponent(r.run_id)}`}>{r.run_id}</Link>
                    ) : (
                      r.run_id
                    )}
                  </td>
                  <td className={r.status === 'failed' ? 'bad' : ''}>
                    {r.status}
                    {progressText(r)}
                    {r.error ? `: ${r.error}` : ''}
                  </td>
                  <td>
                    {r.updated_ms === null
                      ? '–'
                      : new Date(r.updated_ms).toISOString().slice(0, 19).replace('T', ' ')}
                  </td>
                  <td className="num">{fmtNum(num(s.orders), 0)}</td>
                  <td className="num">{fmtNum(num(s.fills), 0)}</td>
                  <td className={`num ${signClass(num(s.pnl))}`}>{fmtNum(num(s.pnl))}</td>
                  <td className={`num ${signClass(num(s.return_pct))}`}>
                    {num(s.return_pct) === null ? '–' : `${num(s.return_pct)?.toFixed(2)} %`}
                  </td>
                  <td className="num">{fmtNum(num(s.sharpe))}</td>
                  <td className="num">{fmtPct(num(s.max_drawdown))}</td>
                  <td className="num">{fmtBps(num(s.implementation_shortfall_bps))}</td>
                  <td className="num">{fmtBps(num(s.slippage_bps))}</td>
                  <td className="num">{fmtPct(num(s.fill_ratio), 1)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {runs.data !== null && runs.data.runs.length === 0 ? (
          <p className="muted">No runs in the results store yet (npm run backtest -- … writes one).</p>
        ) : null}
      </section>
    </div>
  );
}

interface Equity {
  ts_event: string[];
  equity: number[];
  drawdown: number[];
  points: number;
}

function RunDetail({ runId }: { runId: string }) {
  const id = encodeURIComponent(runId);
  const summary = usePoll<Record<string, unknown>>(`/api/backtests/${id}`, 0);
  const equity = usePoll<Equity>(`/api/backtests/${id}/equity`, 0);
  const orders = usePoll<{ orders: Array<Record<string, unknown>> }>(
    `/api/backtests/${id}/orders?limit=200`,
    0,
  );
  const fills = usePoll<{ fills: Array<Record<string, unknown>> }>(`/api/backtests/${id}/fills?limit=200`, 0);
  const series = useMemo(() => {
    const e = equity.data;
    if (e === null) return null;
    return {
      t: e.ts_event.map((ns) => Number(BigInt(ns) / 1_000_000n) / 1000),
      equity: e.equity,
      drawdown: e.drawdown,
    };
  }, [equity.data]);
  const s = summary.data ?? {};
  const facts: Array<[string, string]> = [
    ['PnL', fmtNum(num(s.pnl))],
    ['Return', num(s.return_pct) === null ? '–' : `${num(s.return_pct)?.toFixed(2)} %`],
    ['Sharpe', fmtNum(num(s.sharpe))],
    ['Max drawdown', fmtPct(num(s.max_drawdown))],
    ['Final equity', fmtNum(num(s.final_equity))],
    ['Fees', fmtNum(num(s.fees))],
    ['Orders / fills', `${fmtNum(num(s.orders), 0)} / ${fmtNum(num(s.fills), 0)}`],
    ['Implementation shortfall', fmtBps(num(s.implementation_shortfall_bps))],
    ['Slippage vs mid', fmtBps(num(s.slippage_bps))],
    ['Fill ratio', fmtPct(num(s.fill_ratio), 1)],
  ];
  return (
    <div className="stack">
      <section className="panel" aria-labelledby="run-h">
        <p className="crumb">
          <Link to="/backtests">Backtests</Link> /
        </p>
        <h1 id="run-h">Run {runId}</h1>
        <ErrorLine error={summary.error} />
        <dl className="facts wide">
          {facts.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
        {series ? (
          <EquityChart data={series} title={`Equity (${equity.data?.points ?? 0} points)`} />
        ) : (
          <p className="muted">{equity.error ?? 'Loading the equity curve…'}</p>
        )}
      </section>
      <section className="panel" aria-labelledby="run-orders-h">
        <h2 id="run-orders-h">Orders (first 200)</h2>
        <Rows
          rows={orders.data?.orders ?? []}
          cols={[
            'ts_submitted',
            'order_id',
            'parent_order_id',
            'instrument_key',
            'venue',
            'side',
            'order_type',
            'quantity',
            'price',
            'status',
          ]}
          label="Backtest orders"
        />
      </section>
      <section className="panel" aria-labelledby="run-fills-h">
        <h2 id="run-fills-h">Fills (first 200)</h2>
        <Rows
          rows={fills.data?.fills ?? []}
          cols={[
            'ts_event',
            'fill_id',
            'order_id',
            'instrument_key',
            'venue',
            'side',
            'quantity',
            'price',
            'fee',
            'liquidity',
          ]}
          label="Backtest fills"
        />
      </section>
    </div>
  );
}

function Rows({
  rows,
  cols,
  label,
}: {
  rows: Array<Record<string, unknown>>;
  cols: string[];
  label: string;
}) {
  return (
    <div className="scroll">
      <table className="grid-table compact" aria-label={label}>
        <thead>
          <tr>
            {cols.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={String(r[cols[1] ?? ''] ?? i)}>
              {cols.map((c) => (
                <td key={c}>
                  {c.startsWith('ts_')
                    ? fmtTime(String(r[c] ?? ''), true)
                    : r[c] === null || r[c] === undefined
                      ? '–'
                      : String(r[c])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
