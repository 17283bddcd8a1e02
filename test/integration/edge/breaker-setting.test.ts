/**
 * The venue's `breaker` setting reaches the session the edge builds (`defaultVenueFactory`), against
 * the local exchange through the real ccxt client: the same two 502s open a breaker set to two
 * consecutive failures (the call fails fast with `circuit_open`, and so does the next one, without
 * reaching the venue) and leave the default breaker (five) closed; after `half_open_after_ms` a
 * trial call goes through and closes it again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUMENTS, type LocalExchange } from '../../../dev/local-exchange/index.ts';
import { SystemClock } from '../../../infra/compose.ts';
import { parseConfig } from '../../../shared/config/schema.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import { type Venue, VenueError } from '../../../shared/ports/venue.ts';
import { breakerOf, defaultVenueFactory } from '../../../stateful/edge/runtime.ts';
import { BTC, IT_VENUE, itEnv, localExchange } from './support.ts';

let ex: LocalExchange;
const open: Venue[] = [];

async function venueWith(breaker: Record<string, number> | undefined): Promise<Venue> {
  const cfg = parseConfig(
    {
      venues: [
        {
          ...IT_VENUE,
          accounts: [...IT_VENUE.accounts],
          instrument_types: [...IT_VENUE.instrument_types],
          ...(breaker === undefined ? {} : { breaker }),
        },
      ],
    },
    { env: itEnv(ex) },
  );
  const vc = cfg.venues[0];
  if (vc === undefined) throw new Error('no venue');
  const venue = defaultVenueFactory(vc, {
    instrumentKeys: [BTC],
    specs: DEFAULT_INSTRUMENTS as InstrumentSpec[],
    clock: new SystemClock(),
    log: undefined,
    onEvent: () => undefined,
    seed: 1,
  });
  await venue.connect();
  open.push(venue);
  return venue;
}

const ACCOUNT = { path: '/api/v3/account', status: 502 } as const;

describe('the venue breaker setting', () => {
  beforeAll(async () => {
    ex = await localExchange();
  });
  afterAll(async () => {
    for (const v of open) await v.close().catch(() => undefined);
    await ex.stop();
  });

  it('defaults to 5 consecutive failures and 10 s, in the adapters’ terms', () => {
    const cfg = parseConfig({ venues: [{ id: 'BYBIT', exchange: 'bybit', mode: 'SHADOW' }] }, { env: {} });
    expect(cfg.venues[0]?.breaker).toEqual({ consecutive_failures: 5, half_open_after_ms: 10_000 });
    expect(breakerOf(cfg.venues[0]!)).toEqual({ consecutiveFailures: 5, halfOpenAfterMs: 10_000 });
  });

  it('two 502s leave the default breaker closed: the call succeeds on its retry', async () => {
    const venue = await venueWith(undefined);
    ex.faults.failNext(2, ACCOUNT);
    expect((await venue.fetchBalances()).length).toBeGreaterThan(0);
  });

  it('the same two 502s open a breaker set to 2, which fails fast, then lets a trial through', async () => {
    const venue = await venueWith({ consecutive_failures: 2, half_open_after_ms: 1_500 });
    ex.faults.failNext(2, ACCOUNT);
    const err = await venue.fetchBalances().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VenueError);
    expect((err as VenueError).kind).toBe('circuit_open');
    // Open: refused at once, the venue not asked (no fault left to take, yet still refused).
    const again = await venue.fetchBalances().catch((e: unknown) => e);
    expect((again as VenueError).kind).toBe('circuit_open');
    await new Promise((r) => setTimeout(r, 1_700));
    expect((await venue.fetchBalances()).length).toBeGreaterThan(0);
  });
});
