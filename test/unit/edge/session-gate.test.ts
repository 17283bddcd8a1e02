/**
 * The venue edge with a venue that publishes trading sessions (`Venue.tradingSchedule`): the edge
 * passes the schedule and the venue's policy into every step of the core and decides nothing
 * itself. Edge-specific paths: a schedule that cannot be read (held, never sent unchecked), the
 * venue-level `outside_hours` setting, and a direct order recovered at restart outside its session.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isDone } from '../../../shared/algos/scheduler.ts';
import { outsideHoursPolicy } from '../../../shared/config/schema.ts';
import { SESSION_RECHECK_NS, type TradingSchedule } from '../../../shared/execution/session.ts';
import { createRoutedOrder, T0 } from '../venues/fixtures.ts';
import { ACCOUNT, EdgeHarness, edgeConfig, VENUE } from './harness.ts';

const S = 1_000_000_000n;
const OPEN = T0 + 600n * S;
/** Closed until T0 + 10 min, then open for an hour; the schedule speaks for a day. */
const SCHEDULE: TradingSchedule = {
  sessions: [{ start: OPEN, end: OPEN + 3600n * S }],
  horizon: T0 + 86_400n * S,
};

let h: EdgeHarness | null = null;
afterEach(async () => {
  await h?.stop();
  h = null;
});

async function harness(policy: 'refuse' | 'queue', schedule: () => Promise<TradingSchedule | null>) {
  const base = edgeConfig();
  const x = new EdgeHarness(
    {},
    { ...base, venues: base.venues.map((v) => ({ ...v, outside_hours: policy })) },
  );
  Object.assign(x.venue, { tradingSchedule: schedule });
  h = x;
  return x.start();
}

describe('venue edge: the session gate', () => {
  it('venue-level outside_hours wins over ib.outside_hours; neither: refuse', () => {
    const ib = {
      host: 'h',
      port: 1,
      client_id: 0,
      market_data_type: 'realtime' as const,
      outside_hours: 'queue' as const,
    };
    expect(outsideHoursPolicy({ ib, outside_hours: undefined })).toBe('queue');
    expect(outsideHoursPolicy({ ib, outside_hours: 'refuse' })).toBe('refuse');
    expect(outsideHoursPolicy({ ib: undefined, outside_hours: undefined })).toBe('refuse');
  });

  it('a schedule that cannot be read holds the parent (nothing sent, a warning) until it can', async () => {
    let failing = true;
    const x = await harness('refuse', async () => {
      if (failing) throw new Error('contract details timed out');
      return { sessions: [{ start: T0, end: T0 + 3600n * S }], horizon: T0 + 86_400n * S };
    });
    await x.route('OP-H1', {
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 60, max_slices: 2 },
    });
    await x.advance(S);
    expect(x.venue.submitCalls).toEqual([]);
    expect(x.logs.some((l) => l.level === 'warn' && l.message.includes('contract details timed out'))).toBe(
      true,
    );
    expect(x.logs.some((l) => l.level === 'warn' && l.message.includes('trading hours unknown'))).toBe(true);
    failing = false;
    await x.advance(SESSION_RECHECK_NS);
    expect(x.venue.submitCalls.length).toBeGreaterThan(0);
  });

  it('queue: a routed NORMAL order out of hours is held by the scheduler and sent once at the open', async () => {
    const x = await harness('queue', async () => SCHEDULE);
    const order = await x.route('OP-Q1');
    await x.advance(S);
    expect(x.venue.submitCalls).toEqual([]);
    // Taken by the edge and worked by the scheduler (a parent), not at the venue.
    expect((await x.order('OP-Q1')).status).toBe('ACCEPTED');
    expect((await x.algoStates.get('OP-Q1'))?.state.children).toEqual([]);
    // A redelivery of the routed message finds the scheduler's parent: nothing is sent.
    await x.publishRoute(await x.order('OP-Q1'));
    expect(x.venue.submitCalls).toEqual([]);
    await x.restart();
    await x.advance(OPEN - x.clock.now());
    expect(x.venue.submitCalls.map((r) => r.client_order_id)).toEqual([`${order.order_id}-N1`]);
    await x.advance(S);
    expect(x.venue.submitCalls).toHaveLength(1);
  });

  it('a direct order recorded SUBMITTED that never reached the venue is not sent out of hours at restart', async () => {
    const x = new EdgeHarness();
    Object.assign(x.venue, { tradingSchedule: async () => SCHEDULE });
    h = x;
    const order = await createRoutedOrder(
      x.orders,
      'OP-R1',
      {},
      { venue: VENUE, account_id: ACCOUNT, ts: T0 },
    );
    // The previous process recorded it SUBMITTED and died before the send.
    await x.recorder.recordSubmitted('OP-R1', order.order_id);
    await x.start();
    await x.advance(S);
    expect(x.venue.submitCalls).toEqual([]);
    // Refused by the default policy, like one arriving now: the core denied its only child.
    const rec = await x.algoStates.get('OP-R1');
    expect(rec?.state.children.map((c) => c.status)).toEqual(['DENIED']);
    expect(rec !== null && isDone(rec.state)).toBe(true);
    expect((await x.order('OP-R1')).status).toBe('EXPIRED');
  });
});
