/**
 * The venue edge's sessions on the Status page (`GET /api/venues` `session`): a GREEN / AMBER / RED
 * light with its reasons, connection and streams, the age of the last message from the venue, the
 * circuit breaker, the venue's rate-limit budgets (used / limit per window, time to refill), the
 * last reconciliation and the drift state.
 */
import type { RateBudgetView, VenueSessionView } from '../types.ts';

const LIGHT: Record<VenueSessionView['state'], string> = {
  GREEN: 'light-green',
  AMBER: 'light-amber',
  RED: 'light-red',
};

/** `850 ms`, `12.3 s`, `4 min`. */
export function fmtAge(ms: number | null): string {
  if (ms === null) return 'none yet';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

function fmtWindow(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

function Budget({ b }: { b: RateBudgetView }) {
  const pct = Math.round(b.used_fraction * 100);
  const level = b.used_fraction >= 1 ? 'bad' : b.used_fraction >= 0.8 ? 'warn' : 'ok';
  return (
    <div className="budget" data-testid="budget" data-name={b.name}>
      <span className="budget-name">{b.name}</span>{' '}
      <meter
        className={`budget-meter budget-${level}`}
        min={0}
        max={b.limit}
        low={b.limit * 0.8}
        high={b.limit * 0.99}
        optimum={0}
        value={Math.min(b.used, b.limit)}
        aria-label={`${b.name}: ${b.used} of ${b.limit} used`}
      />{' '}
      <span className="num" data-testid="budget-used">
        {b.used}/{b.limit}
      </span>{' '}
      <span className="muted">
        per {fmtWindow(b.window_ms)} ({pct}%){b.refill_ms > 0 ? `, refill in ${fmtAge(b.refill_ms)}` : ''}
      </span>
    </div>
  );
}

export function VenueSessions({ sessions }: { sessions: VenueSessionView[] }) {
  if (sessions.length === 0) {
    return <p className="muted small">No venue session runs in this process.</p>;
  }
  return (
    <table className="grid-table sessions" aria-label="Venue sessions">
      <thead>
        <tr>
          <th>Venue</th>
          <th>State</th>
          <th>Session</th>
          <th className="num">Last message</th>
          <th>Breaker</th>
          <th>Rate-limit budget</th>
          <th>Reconciliation</th>
          <th>Drift</th>
          <th className="num">Working</th>
        </tr>
      </thead>
      <tbody>
        {sessions.map((s) => (
          <tr
            key={s.venue}
            data-testid="session-row"
            data-venue={s.venue}
            data-state={s.state}
            className={s.state === 'RED' ? 'row-bad' : undefined}
          >
            <td>
              {s.venue} <span className="muted">{s.mode}</span>
            </td>
            <td>
              <span className={`light ${LIGHT[s.state]}`} data-testid="session-state">
                {s.state}
              </span>
              {s.reasons.length > 0 ? (
                <ul className="reasons small">
                  {s.reasons.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
              ) : null}
            </td>
            <td>
              {s.connected ? 'connected' : 'disconnected'}
              <div className="muted small">
                private {s.private_stream} · public {s.public_stream}
              </div>
              <div className="muted small">
                {s.health}
                {s.health_detail ? `: ${s.health_detail}` : ''}
              </div>
            </td>
            <td className="num" data-testid="message-age" data-age-ms={s.last_message_age_ms ?? ''}>
              {fmtAge(s.last_message_age_ms)}
            </td>
            <td className={s.breaker === 'closed' ? '' : 'st-bad'}>{s.breaker.replace('_', ' ')}</td>
            <td>
              {s.rate_limits === null ? (
                <span className="muted">not paced by venue budgets</span>
              ) : (
                s.rate_limits.map((b) => <Budget key={b.name} b={b} />)
              )}
            </td>
            <td data-testid="reconciliation">
              {s.reconciliation === null ? (
                <span className="muted">none</span>
              ) : (
                <>
                  <span
                    className={
                      s.reconciliation.status === 'OK'
                        ? 'st-ok'
                        : s.reconciliation.status === 'NOT_RUN'
                          ? 'muted'
                          : 'st-live'
                    }
                  >
                    {s.reconciliation.status}
                  </span>
                  <div className="muted small">
                    {s.reconciliation.age_ms === null
                      ? 'not run yet'
                      : `${fmtAge(s.reconciliation.age_ms)} ago`}
                    {s.reconciliation.open > 0 ? ` · ${s.reconciliation.open} open` : ''}
                    {s.reconciliation.corrections > 0 ? ` · ${s.reconciliation.corrections} corrected` : ''}
                  </div>
                  {s.reconciliation.errors.length > 0 ? (
                    <div className="error small">{s.reconciliation.errors[0]}</div>
                  ) : null}
                </>
              )}
            </td>
            <td data-testid="drift">
              <span
                className={
                  s.drift.state === 'NONE' ? 'st-ok' : s.drift.state === 'ALERTING' ? 'st-live' : 'st-bad'
                }
              >
                {s.drift.state.toLowerCase()}
              </span>
              {s.drift.instruments
                .filter((i) => i.recent_alerts > 0 || i.persistent)
                .map((i) => (
                  <div key={i.instrument_key} className="muted small">
                    {i.instrument_key}: {i.recent_alerts} alert(s), EWMA {i.ewma_bps ?? '–'} bps
                  </div>
                ))}
            </td>
            <td className="num">
              {s.working_orders}
              {s.active_algorithms > 0 ? ` + ${s.active_algorithms} algo` : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
