/**
 * The console's frame: navigation (Alt+1…9 jumps to a page), the platform's trading state always
 * in view, and the page of the current path. Pages of services this deployment lacks (service
 * detection, `GET /api/services`) are marked unavailable instead of failing.
 */
import { lazy, type ReactNode, Suspense, useEffect } from 'react';
import { usePoll } from './api.ts';
import { ExecutePage } from './pages/Execute.tsx';
import { LogsPage } from './pages/Logs.tsx';
import { OrderDetailPage } from './pages/OrderDetail.tsx';
import { OrdersPage } from './pages/Orders.tsx';
import { PositionsPage } from './pages/Positions.tsx';
import { StatusPage } from './pages/Status.tsx';
import { TcaPage } from './pages/Tca.tsx';
import { TradingStatePage } from './pages/TradingState.tsx';
import { Link, navigate, usePath } from './router.tsx';
import type { ServicesView, TradingStateView } from './types.ts';

// The chart library loads with the Backtests page only.
const BacktestsPage = lazy(() => import('./pages/Backtests.tsx').then((m) => ({ default: m.BacktestsPage })));

interface PageDef {
  path: string;
  label: string;
  needs?: keyof ServicesView;
}

export const PAGES: readonly PageDef[] = [
  { path: '/execute', label: 'Execute', needs: 'order_intake' },
  { path: '/orders', label: 'Orders' },
  { path: '/positions', label: 'Positions' },
  { path: '/logs', label: 'Logs' },
  { path: '/status', label: 'Status' },
  { path: '/trading-state', label: 'Trading state', needs: 'trading_state' },
  { path: '/backtests', label: 'Backtests', needs: 'backtest_results' },
  { path: '/tca', label: 'TCA' },
];

function Unavailable({ label, service }: { label: string; service: string }) {
  return (
    <section className="panel">
      <h1>{label}</h1>
      <p className="muted" role="status">
        Unavailable: this deployment does not run the {service.replace(/_/g, ' ')} service.
      </p>
    </section>
  );
}

function page(path: string, services: ServicesView | null): ReactNode {
  const def = PAGES.find((p) => path === p.path || path.startsWith(`${p.path}/`));
  if (def?.needs !== undefined && services !== null && !services[def.needs])
    return <Unavailable label={def.label} service={def.needs} />;
  const rest = def === undefined ? '' : decodeURIComponent(path.slice(def.path.length + 1));
  switch (def?.path) {
    case '/execute':
      return <ExecutePage />;
    case '/orders':
      return rest === '' ? <OrdersPage /> : <OrderDetailPage operationId={rest} />;
    case '/positions':
      return <PositionsPage />;
    case '/logs':
      return <LogsPage />;
    case '/status':
      return <StatusPage services={services} />;
    case '/trading-state':
      return <TradingStatePage />;
    case '/backtests':
      return (
        <Suspense fallback={<p className="muted">Loading…</p>}>
          <BacktestsPage runId={rest === '' ? null : rest} runner={services?.backtest_runner === true} />
        </Suspense>
      );
    case '/tca':
      return <TcaPage />;
    default:
      return <ExecutePage />;
  }
}

export function App() {
  const path = usePath();
  const services = usePoll<ServicesView>('/api/services', 10_000);
  const trading = usePoll<TradingStateView>('/api/trading-state', 2_000);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const n = Number(e.key);
      const target = Number.isInteger(n) && n >= 1 ? PAGES[n - 1] : undefined;
      if (target !== undefined) {
        e.preventDefault();
        navigate(target.path);
        document.getElementById('main')?.focus();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const state = trading.data?.state ?? null;
  const current = path === '/' ? '/execute' : path;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Execution console</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p, i) => {
              const off = p.needs !== undefined && services.data !== null && !services.data[p.needs];
              const active = current === p.path || current.startsWith(`${p.path}/`);
              return (
                <li key={p.path}>
                  <Link
                    to={p.path}
                    aria-current={active ? 'page' : undefined}
                    className={off ? 'off' : undefined}
                    title={`${p.label} (Alt+${i + 1})${off ? ' — unavailable here' : ''}`}
                  >
                    {p.label}
                  </Link>
                </li>
              );
            })}
          </ul>
        </nav>
        <Link
          to="/trading-state"
          className={`badge ts-${(state ?? 'unknown').toLowerCase()}`}
          aria-label={`Trading state ${state ?? 'unknown'}`}
          data-testid="trading-state-badge"
        >
          {state ?? '…'}
        </Link>
      </header>
      <main id="main" tabIndex={-1}>
        {page(current, services.data)}
      </main>
    </div>
  );
}
