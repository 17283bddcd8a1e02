/**
 * Status: every component's health (`GET /api/health`), each venue — its health check, the state
 * the venue edge last published (status, latency, rejections, age) and its session (`/readyz`:
 * connected, streams) — each venue session's snapshot (GREEN / AMBER / RED, last message age,
 * breaker, rate-limit budgets, last reconciliation, drift), the trading state, and which services
 * run (service detection).
 */
import { useState } from 'react';
import { api, usePoll } from '../api.ts';
import { VenueSessions } from '../components/VenueSessions.tsx';
import { fmtTime } from '../format.ts';
import type { HealthView, ServicesView, TradingStateView, VenueSessionView, VenueView } from '../types.ts';

interface Ready {
  status: string;
  reasons?: string[];
  venues: Array<{
    venue: string;
    mode: string;
    connected: boolean;
    private_stream: string;
    public_stream: string;
    health: string;
  }>;
}

const Dot = ({ ok, label }: { ok: boolean | null; label: string }) => (
  <span className={`dot ${ok === null ? 'unknown' : ok ? 'up' : 'down'}`} role="img" aria-label={label} />
);

export function StatusPage({ services }: { services: ServicesView | null }) {
  const health = usePoll<HealthView>('/api/health', 2000, [503]);
  const venues = usePoll<{ venues: VenueView[] }>('/api/venues', 2000);
  const ready = usePoll<Ready>(services?.venue_edge ? '/readyz' : null, 2000, [503]);
  const trading = usePoll<TradingStateView>('/api/trading-state', 2000);
  const dev = usePoll<{ url: string; state: string }>('/api/dev/local-exchange', 2000);
  const [devError, setDevError] = useState<string | null>(null);

  const components = Object.entries(health.data?.components ?? {}).filter(([k]) => !k.startsWith('venue:'));
  const venueHealth = (id: string) => health.data?.components[`venue:${id}`];
  const session = (id: string) => ready.data?.venues.find((v) => v.venue === id);

  const toggleExchange = async () => {
    setDevError(null);
    const next = dev.data?.state === 'offline' ? 'online' : 'offline';
    try {
      await api('/api/dev/local-exchange', { method: 'PUT', body: { state: next } });
      dev.reload();
    } catch (err) {
      setDevError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <div className="stack">
      <section className="panel" aria-labelledby="status-h">
        <h1 id="status-h">
          Status{' '}
          <span
            className={`status ${health.data?.status === 'ok' ? 'st-ok' : 'st-bad'}`}
            data-testid="overall-status"
          >
            {health.data?.status ?? '…'}
          </span>
        </h1>
        <p className="muted small">
          checked {health.data ? health.data.checked_at : '…'}; trading state{' '}
          <strong>{trading.data?.state ?? '…'}</strong>
        </p>
        {health.error ? (
          <p className="error" role="alert">
            API unreachable: {health.error}
          </p>
        ) : null}
        <h2>Components</h2>
        <table className="grid-table" aria-label="Components">
          <thead>
            <tr>
              <th>Component</th>
              <th>State</th>
              <th className="num">Check (ms)</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {components.map(([name, c]) => (
              <tr key={name} data-testid="component-row" data-ok={c.ok}>
                <td>{name}</td>
                <td>
                  <Dot ok={c.ok} label={c.ok ? 'up' : 'down'} /> {c.ok ? 'ok' : 'DOWN'}
                </td>
                <td className="num">{c.latency_ms.toFixed(1)}</td>
                <td className="muted">{c.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="panel" aria-labelledby="venues-h">
        <h2 id="venues-h">Venues</h2>
        <table className="grid-table" aria-label="Venues">
          <thead>
            <tr>
              <th>Venue</th>
              <th>Mode</th>
              <th>Health</th>
              <th>Session</th>
              <th>Streams (private / public)</th>
              <th>Edge state</th>
              <th className="num">Latency</th>
              <th className="num">Rejections</th>
              <th className="num">State age</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {(venues.data?.venues ?? []).map((v) => {
              const h = venueHealth(v.id);
              const s = session(v.id);
              const stateOk = v.state === null ? null : v.state.status === 'UP';
              const ok =
                h === undefined ? stateOk : h.ok && stateOk !== false && (s === undefined || s.connected);
              return (
                <tr
                  key={v.id}
                  data-testid="venue-row"
                  data-venue={v.id}
                  data-ok={String(ok)}
                  className={ok === false ? 'row-bad' : undefined}
                >
                  <td>
                    <Dot ok={ok} label={ok === false ? 'down' : ok ? 'up' : 'unknown'} /> {v.id}
                  </td>
                  <td>
                    {v.mode} {v.exchange}
                    {v.enabled ? '' : ' (disabled)'}
                  </td>
                  <td>{h === undefined ? '–' : h.ok ? 'ok' : 'DOWN'}</td>
                  <td>{s === undefined ? '–' : s.connected ? 'connected' : 'disconnected'}</td>
                  <td>{s === undefined ? '–' : `${s.private_stream} / ${s.public_stream}`}</td>
                  <td>{v.state?.status ?? '–'}</td>
                  <td className="num">
                    {v.state?.latency_ms == null ? '–' : `${Math.round(v.state.latency_ms)} ms`}
                  </td>
                  <td className="num">
                    {v.state ? `${v.state.recent_rejections}/${v.state.recent_orders}` : '–'}
                  </td>
                  <td className="num">{v.state ? `${(v.state.age_ms / 1000).toFixed(1)} s` : '–'}</td>
                  <td className="muted">
                    {[h?.detail, s?.health, v.state?.detail].filter(Boolean).join(' · ')}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        {ready.data?.reasons?.length ? (
          <p className="muted small">Not ready: {ready.data.reasons.join('; ')}</p>
        ) : null}
      </section>
      <section className="panel" aria-labelledby="sessions-h">
        <h2 id="sessions-h">Venue sessions</h2>
        <VenueSessions
          sessions={(venues.data?.venues ?? [])
            .map((v) => v.session ?? null)
            .filter((s): s is VenueSessionView => s !== null)}
        />
      </section>
      <section className="panel" aria-labelledby="services-h">
        <h2 id="services-h">Services</h2>
        <ul className="services">
          {services === null
            ? null
            : Object.entries(services).map(([k, up]) => (
                <li key={k} data-testid="service" data-up={up}>
                  <Dot ok={up ? true : null} label={up ? 'available' : 'not in this deployment'} />{' '}
                  {k.replace(/_/g, ' ')}
                  {up ? '' : ' (absent)'}
                </li>
              ))}
        </ul>
        {dev.data ? (
          <div className="dev">
            <p>
              Local exchange {dev.data.url}:{' '}
              <strong data-testid="local-exchange-state">{dev.data.state}</strong>{' '}
              <button type="button" onClick={toggleExchange}>
                {dev.data.state === 'offline' ? 'Bring local exchange online' : 'Take local exchange offline'}
              </button>
            </p>
            {devError ? <p className="error">{devError}</p> : null}
          </div>
        ) : null}
        <p className="muted small">Updated {fmtTime(String(BigInt(Date.now()) * 1_000_000n))} UTC</p>
      </section>
    </div>
  );
}
