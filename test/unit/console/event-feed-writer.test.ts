/**
 * The event feed writer (stateful/api/events/writer.ts) over the in-process bus: reconciliation
 * differences, drift alerts and venue diagnostics from `exec.orders` become one feed entry each,
 * written once however often the message is delivered; a feed failure nacks (the message comes
 * back); a message that is not ours is left out.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { LocalEventFeedStore } from '../../../infra/local/event-feed.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { MemoryEventBus } from '../../../infra/memory/event-bus.memory.ts';
import { ORDER_UPDATES_TOPIC } from '../../../shared/app/messages.ts';
import type { DriftAlertMessage } from '../../../shared/drift/messages.ts';
import type { EventFeedStore } from '../../../shared/ports/event-feed-store.ts';
import { differenceMessage } from '../../../shared/recon/messages.ts';
import { type EventFeedWriter, startEventFeedWriter } from '../../../stateful/api/events/writer.ts';

const T = 1_751_371_200_000_000_000n;
const KEY = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';

const drift: DriftAlertMessage = {
  type: 'drift_alert',
  operation_id: 'OP-7',
  order_id: 'ord-7',
  fill_id: 'f-1',
  strategy_id: 'alpha',
  venue: 'BINANCE-SPOT',
  instrument_key: KEY,
  side: 'BUY',
  fill_price: '101',
  fill_quantity: '0.5',
  mid_at_arrival: '100',
  drift_bps: '100',
  threshold_bps: 50,
  persistent: true,
  persistence_reason: '3 alerts in 300 s',
  trading_state_set: 'REDUCING',
  ts_event: String(T + 3n),
  ts_init: String(T + 4n),
};

describe('event feed writer', () => {
  let bus: MemoryEventBus;
  let writer: EventFeedWriter | null = null;
  afterEach(async () => {
    await writer?.close();
    await bus.close();
  });

  async function start(feed: Pick<EventFeedStore, 'append'>) {
    bus = new MemoryEventBus({ retryBackoff: { initialMs: 1, maxMs: 5, multiplier: 1 } });
    const tradingState = LocalTradingStateStore.memory();
    await tradingState.set(
      { kind: 'global' },
      { state: 'HALTED', reason: 'incident', updated_by: 'alice' },
      T,
    );
    writer = await startEventFeedWriter({
      feed,
      bus,
      orders: LocalOrderStore.memory(),
      tradingState,
      tradingStatePollMs: 0,
    });
    return tradingState;
  }

  it('writes reconciliation differences, drift alerts and the trading-state history once each', async () => {
    const feed = LocalEventFeedStore.memory();
    const tradingState = await start(feed);
    const diff = differenceMessage(
      {
        kind: 'position_mismatch',
        key: 'pos|BTC-USDT',
        venue: 'BINANCE-SPOT',
        operation_id: null,
        instrument_key: KEY,
        client_order_id: null,
        ours: '1',
        theirs: '1.5',
        message: 'position BTC-USDT: ours 1, venue 1.5',
        detail: {},
      },
      'run-1',
      'found',
      null,
      T + 1n,
    );
    for (let i = 0; i < 2; i++) {
      await bus.publish(ORDER_UPDATES_TOPIC, diff);
      await bus.publish(ORDER_UPDATES_TOPIC, drift);
    }
    await bus.publish(ORDER_UPDATES_TOPIC, { type: 'something_else' });
    await bus.idle();
    await tradingState.set(
      { kind: 'global' },
      { state: 'ACTIVE', reason: 'resolved', updated_by: 'bob' },
      T + 5n,
    );
    await writer?.syncTradingState();
    await writer?.syncTradingState();
    const { events } = await feed.page({ limit: 50 });
    expect(events.map((e) => [e.type, e.outcome, e.actor, e.message])).toEqual([
      ['TradingStateChanged', 'info', 'bob', 'global: HALTED → ACTIVE: resolved'],
      [
        'drift_alert',
        'warning',
        null,
        'fill drift 100 bps beyond 50 bps: BUY 0.5 @ 101, mid 100; persistent: 3 alerts in 300 s; trading state set REDUCING',
      ],
      ['reconciliation.position_mismatch', 'warning', null, 'position BTC-USDT: ours 1, venue 1.5'],
      ['TradingStateChanged', 'warning', 'alice', 'global: (none) → HALTED: incident'],
    ]);
    expect(events[1]).toMatchObject({
      category: 'venue',
      venue: 'BINANCE-SPOT',
      operation_id: 'OP-7',
      strategy_id: 'alpha',
    });
  });

  it('a feed that fails nacks the message: it is written when the feed is back', async () => {
    const feed = LocalEventFeedStore.memory();
    let failures = 2;
    await start({
      append: async (entries) => {
        if (failures-- > 0) throw new Error('feed unavailable');
        return feed.append(entries);
      },
    });
    await bus.publish(ORDER_UPDATES_TOPIC, drift);
    await expect.poll(async () => (await feed.page({ limit: 5, category: ['venue'] })).events.length).toBe(1);
  });
});
