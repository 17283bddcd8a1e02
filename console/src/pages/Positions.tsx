/** Positions per instrument (breakdown by account and venue) marked to the latest mid, with totals. */

import { Fragment, useState } from 'react';
import { usePoll } from '../api.ts';
import { ErrorLine } from '../components/ErrorLine.tsx';
import { fmtNum, signClass } from '../format.ts';

interface AccountRow {
  account_id: string;
  quantity: string;
  avg_entry_price: string | null;
  realized_pnl: string;
  unrealized_pnl: string | null;
  exposure: string | null;
  fees: string;
  venues: Record<string, string>;
}
interface InstrumentRow extends Omit<AccountRow, 'account_id'> {
  instrument_key: string;
  mark: string | null;
  accounts: AccountRow[];
}
interface View {
  instruments: InstrumentRow[];
  totals: { realized_pnl: string; unrealized_pnl: string | null; exposure: string | null; fees: string };
}

const venuesText = (v: Record<string, string>) =>
  Object.entries(v)
    .map(([k, q]) => `${k} ${fmtNum(q, 8)}`)
    .join(', ') || '–';

export function PositionsPage() {
  const view = usePoll<View>('/api/positions/view', 2000);
  const [open, setOpen] = useState<Record<string, boolean>>({});
  const rows = view.data?.instruments ?? [];
  const t = view.data?.totals;
  return (
    <section className="panel" aria-labelledby="positions-h">
      <h1 id="positions-h">Positions</h1>
      <ErrorLine error={view.error} />
      <table className="grid-table" aria-label="Positions by instrument">
        <thead>
          <tr>
            <th>Instrument</th>
            <th className="num">Quantity</th>
            <th className="num">Avg entry</th>
            <th className="num">Mark (mid)</th>
            <th className="num">Realized PnL</th>
            <th className="num">Unrealized PnL</th>
            <th className="num">Exposure</th>
            <th className="num">Fees</th>
            <th>By venue</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <Fragment key={r.instrument_key}>
              <tr data-testid="position-row">
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-expanded={open[r.instrument_key] === true}
                    onClick={() => setOpen((o) => ({ ...o, [r.instrument_key]: !o[r.instrument_key] }))}
                  >
                    {open[r.instrument_key] ? '▾' : '▸'} {r.instrument_key}
                  </button>
                </td>
                <td className={`num ${signClass(r.quantity)}`}>{fmtNum(r.quantity, 8)}</td>
                <td className="num">{fmtNum(r.avg_entry_price, 8)}</td>
                <td className="num">{fmtNum(r.mark, 8)}</td>
                <td className={`num ${signClass(r.realized_pnl)}`}>{fmtNum(r.realized_pnl)}</td>
                <td className={`num ${signClass(r.unrealized_pnl)}`}>{fmtNum(r.unrealized_pnl)}</td>
                <td className="num">{fmtNum(r.exposure)}</td>
                <td className="num">{fmtNum(r.fees, 6)}</td>
                <td>{venuesText(r.venues)}</td>
              </tr>
              {open[r.instrument_key]
                ? r.accounts.map((a) => (
                    <tr key={`${r.instrument_key}/${a.account_id}`} className="sub">
                      <td>↳ account {a.account_id}</td>
                      <td className={`num ${signClass(a.quantity)}`}>{fmtNum(a.quantity, 8)}</td>
                      <td className="num">{fmtNum(a.avg_entry_price, 8)}</td>
                      <td />
                      <td className={`num ${signClass(a.realized_pnl)}`}>{fmtNum(a.realized_pnl)}</td>
                      <td className={`num ${signClass(a.unrealized_pnl)}`}>{fmtNum(a.unrealized_pnl)}</td>
                      <td className="num">{fmtNum(a.exposure)}</td>
                      <td className="num">{fmtNum(a.fees, 6)}</td>
                      <td>{venuesText(a.venues)}</td>
                    </tr>
                  ))
                : null}
            </Fragment>
          ))}
        </tbody>
        {t ? (
          <tfoot>
            <tr>
              <th>Total</th>
              <td colSpan={3} />
              <td className={`num ${signClass(t.realized_pnl)}`}>{fmtNum(t.realized_pnl)}</td>
              <td className={`num ${signClass(t.unrealized_pnl)}`}>{fmtNum(t.unrealized_pnl)}</td>
              <td className="num">{fmtNum(t.exposure)}</td>
              <td className="num">{fmtNum(t.fees, 6)}</td>
              <td />
            </tr>
          </tfoot>
        ) : null}
      </table>
      {view.data !== null && rows.length === 0 ? <p className="muted">No positions.</p> : null}
    </section>
  );
}
