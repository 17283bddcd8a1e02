/**
 * Property: whatever sequence of orders, fills and cancels flows through the ledger — evaluated
 * one at a time, or concurrently with optimistic version checks — no position, exposure,
 * balance or velocity limit is ever exceeded, and the ledger's aggregates always equal what its
 * open reservations and fills imply.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Dec, toDec } from '../../../shared/domain/decimal.ts';
import type { InstrumentSpec, OrderInstruction, Side } from '../../../shared/domain/types.ts';
import { evaluate, worstCaseQuantity } from '../../../shared/risk/engine.ts';
import {
  applyReservation,
  emptyLedger,
  LedgerConflictError,
  type RiskLedger,
  recentRetention,
  recordFill,
  releaseReservation,
  riskContextFromLedger,
} from '../../../shared/risk/ledger.ts';
import { compileRiskLimits, type RiskLimits } from '../../../shared/risk/limits.ts';
import type { RiskDecision } from '../../../shared/risk/types.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
const PERP = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT@LIN';
const INSTRUMENTS = [BTC, ETH, PERP] as const;
const MARK: Record<string, string> = { [BTC]: '100', [ETH]: '20', [PERP]: '100' };
const STRATEGIES = ['a', 'b', 'c'] as const;
const T0 = 1_750_000_000_000_000_000n;
const MS = 1_000_000n;
const SEC = 1_000n * MS;
const FEE = new Dec('0.001');
const START_CASH = new Dec('400');
const MIN_FREE = new Dec('50');

function spec(key: string): InstrumentSpec {
  return {
    instrument_key: key,
    tick_size: '0.01',
    step_size: '0.1',
    min_qty: '0.1',
    max_qty: '100',
    min_notional: '0',
    maker_fee: '0.001',
    taker_fee: '0.001',
  };
}
const SPECS: Record<string, InstrumentSpec> = { [BTC]: spec(BTC), [ETH]: spec(ETH), [PERP]: spec(PERP) };

const LIMITS: RiskLimits = {
  enabled: true,
  max_orders_per_second: 4,
  max_orders_per_minute: 12,
  max_notional_per_order: null,
  max_total_notional: '1000',
  max_position_global: '8',
  price_tolerance_bps: 50,
  min_free_balance: '50',
  per_strategy: {
    a: { max_orders_per_second: 2, max_position: '3' },
    '*': { max_position: '5', max_orders_per_minute: 6 },
  },
  per_instrument: { [BTC]: { max_position: '6' }, [ETH]: { max_position: '20' } },
};
const COMPILED = compileRiskLimits(LIMITS);
const RETENTION = recentRetention(LIMITS);

const INST_LIMIT: Record<string, Dec> = { [BTC]: new Dec(6), [ETH]: new Dec(8), [PERP]: new Dec(8) }; // min(own, global 8)
const STRAT_LIMIT: Record<string, Dec> = { a: new Dec(3), b: new Dec(5), c: new Dec(5) };
const PER_SECOND: Record<string, number> = { a: 2 };
const PER_MINUTE: Record<string, number> = { b: 6, c: 6 };

interface Submit {
  kind: 'submit';
  strategy: (typeof STRATEGIES)[number];
  instrument: (typeof INSTRUMENTS)[number];
  side: Side;
  tenths: number;
  limit: boolean;
  dtMs: number;
  worker: number;
}
interface FillCmd {
  kind: 'fill';
  pick: number;
  tenthsOfRemaining: number;
}
interface CloseCmd {
  kind: 'close';
  pick: number;
  tenthsOfRemaining: number;
}
interface CommitCmd {
  kind: 'commit';
  worker: number;
}
type Cmd = Submit | FillCmd | CloseCmd | CommitCmd;

const submitArb = fc.record({
  kind: fc.constant('submit' as const),
  strategy: fc.constantFrom(...STRATEGIES),
  instrument: fc.constantFrom(...INSTRUMENTS),
  side: fc.constantFrom<Side>('BUY', 'SELL'),
  tenths: fc.integer({ min: 1, max: 40 }),
  limit: fc.boolean(),
  dtMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 20_000 })),
  worker: fc.integer({ min: 0, max: 2 }),
});
const fillArb = fc.record({
  kind: fc.constant('fill' as const),
  pick: fc.nat(),
  tenthsOfRemaining: fc.integer({ min: 1, max: 10 }),
});
const closeArb = fc.record({
  kind: fc.constant('close' as const),
  pick: fc.nat(),
  tenthsOfRemaining: fc.integer({ min: 0, max: 10 }),
});
const commitArb = fc.record({ kind: fc.constant('commit' as const), worker: fc.integer({ min: 0, max: 2 }) });

class Harness {
  ledger: RiskLedger = emptyLedger();
  now = T0;
  cash = START_CASH;
  seq = 0;
  approvals: Array<{ t: bigint; strategy: string }> = [];
  /** Signed fills per instrument and per strategy/instrument, tracked independently of the ledger. */
  filled = new Map<string, Dec>();
  approved = 0;
  denied = 0;
  conflicts = 0;
  deniedBy = new Map<string, number>();
  /** Concurrent mode: each worker's decision evaluated on the snapshot it read. */
  pending: Array<RiskDecision | null> = [null, null, null];

  makeOrder(c: Submit): OrderInstruction {
    this.seq++;
    return {
      operation_id: `OP-${this.seq}`,
      instrument_key: c.instrument,
      side: c.side,
      quantity: new Dec(c.tenths).div(10).toFixed(),
      price: c.limit ? (MARK[c.instrument] as string) : null,
      order_type: c.limit ? 'LIMIT' : 'MARKET',
      time_in_force: 'GTC',
      strategy_id: c.strategy,
      exec_algorithm: 'NORMAL',
      exec_algorithm_params: {},
    };
  }

  decide(o: OrderInstruction): RiskDecision {
    const ctx = riskContextFromLedger(this.ledger, o, {
      trading_state: 'ACTIVE',
      strategy_trading_state: 'ACTIVE',
      instrument: SPECS[o.instrument_key] ?? null,
      reference_price: MARK[o.instrument_key] ?? null,
      free_balance: this.cash.toFixed(),
    });
    return evaluate(o, ctx, COMPILED, this.now);
  }

  commit(d: RiskDecision): void {
    if (!d.approved) {
      this.denied++;
      this.deniedBy.set(d.rule, (this.deniedBy.get(d.rule) ?? 0) + 1);
      return;
    }
    this.ledger = applyReservation(this.ledger, d.reservation, { max_recent: RETENTION });
    this.approved++;
    this.approvals.push({ t: BigInt(d.reservation.ts_ns), strategy: d.reservation.strategy_id });
  }

  openIds(): string[] {
    return Object.keys(this.ledger.open).sort();
  }

  addFilled(key: string, signed: Dec): void {
    this.filled.set(key, (this.filled.get(key) ?? new Dec(0)).plus(signed));
  }

  /** Move cash and the independent fill record for a fill of `qty` on reservation `id`. */
  settle(id: string, qty: Dec): void {
    const r = this.ledger.open[id]?.reservation;
    if (r === undefined || qty.isZero()) return;
    const buy = r.side === 'BUY';
    const signed = buy ? qty : qty.neg();
    this.addFilled(r.instrument_key, signed);
    this.addFilled(`${r.strategy_id}|${r.instrument_key}`, signed);
    if (r.instrument_key !== PERP) {
      const value = qty.times(r.mark);
      this.cash = buy
        ? this.cash.minus(value.times(FEE.plus(1)))
        : this.cash.plus(value.times(new Dec(1).minus(FEE)));
    }
  }

  remaining(id: string): Dec {
    const open = this.ledger.open[id];
    if (open === undefined) return new Dec(0);
    return toDec(open.reservation.quantity).minus(open.filled);
  }

  run(c: Cmd, concurrent: boolean): void {
    if (c.kind === 'submit') {
      this.now += BigInt(c.dtMs) * MS;
      const o = this.makeOrder(c);
      if (concurrent) this.pending[c.worker] = this.decide(o);
      else this.commit(this.decide(o));
      return;
    }
    if (c.kind === 'commit') {
      const d = this.pending[c.worker];
      if (d === null || d === undefined) return;
      this.pending[c.worker] = null;
      try {
        this.commit(d);
      } catch (e) {
        if (!(e instanceof LedgerConflictError)) throw e;
        this.conflicts++; // the shell would re-read and re-evaluate; here the order is dropped
      }
      return;
    }
    const ids = this.openIds();
    if (ids.length === 0) return;
    const id = ids[c.pick % ids.length] as string;
    const rem = this.remaining(id);
    // A share of the remaining quantity, on the 0.1 step grid.
    const qty = rem.times(c.tenthsOfRemaining).div(10).toDecimalPlaces(1, Dec.ROUND_DOWN);
    if (c.kind === 'fill') {
      if (qty.isZero()) return;
      this.settle(id, qty);
      this.ledger = recordFill(this.ledger, id, qty);
    } else {
      const r = this.ledger.open[id]?.reservation;
      const before = toDec(this.ledger.open[id]?.filled ?? '0');
      this.settle(id, qty);
      if (r !== undefined) this.ledger = releaseReservation(this.ledger, r, before.plus(qty));
    }
  }

  checkInvariants(): void {
    const L = this.ledger;
    let total = new Dec(0);
    const working = new Map<string, { buy: Dec; sell: Dec }>();
    for (const open of Object.values(L.open)) {
      const r = open.reservation;
      const left = toDec(r.quantity).minus(open.filled);
      for (const key of [r.instrument_key, `${r.strategy_id}|${r.instrument_key}`]) {
        const w = working.get(key) ?? { buy: new Dec(0), sell: new Dec(0) };
        if (r.side === 'BUY') w.buy = w.buy.plus(left);
        else w.sell = w.sell.plus(left);
        working.set(key, w);
      }
    }
    for (const key of INSTRUMENTS) {
      const b = L.instruments[key];
      if (b === undefined) continue;
      const wc = worstCaseQuantity(toDec(b.position), toDec(b.working_buy), toDec(b.working_sell));
      expect(wc.lte(INST_LIMIT[key] as Dec), `${key} worst case ${wc} within limit`).toBe(true);
      total = total.plus(wc.times(MARK[key] as string));
      const w = working.get(key) ?? { buy: new Dec(0), sell: new Dec(0) };
      expect(b.working_buy).toBe(w.buy.toFixed());
      expect(b.working_sell).toBe(w.sell.toFixed());
      expect(b.position).toBe((this.filled.get(key) ?? new Dec(0)).toFixed());
    }
    for (const s of STRATEGIES) {
      for (const [key, b] of Object.entries(L.strategies[s]?.books ?? {})) {
        const wc = worstCaseQuantity(toDec(b.position), toDec(b.working_buy), toDec(b.working_sell));
        expect(wc.lte(STRAT_LIMIT[s] as Dec), `strategy ${s} ${key} worst case ${wc}`).toBe(true);
        const w = working.get(`${s}|${key}`) ?? { buy: new Dec(0), sell: new Dec(0) };
        expect(b.working_buy).toBe(w.buy.toFixed());
        expect(b.working_sell).toBe(w.sell.toFixed());
        expect(b.position).toBe((this.filled.get(`${s}|${key}`) ?? new Dec(0)).toFixed());
      }
    }
    expect(L.total_exposure).toBe(total.toFixed());
    expect(total.lte(1000), `total exposure ${total}`).toBe(true);
    const reserved = toDec(L.reserved_balance.USDT ?? '0');
    expect(
      reserved.lte(this.cash.minus(MIN_FREE)) || reserved.isZero(),
      `reserved ${reserved} cash ${this.cash}`,
    ).toBe(true);
  }

  checkVelocity(): void {
    const within = (t: bigint, w: bigint, strategy?: string) =>
      this.approvals.filter(
        (a) => a.t > t - w && a.t <= t && (strategy === undefined || a.strategy === strategy),
      ).length;
    for (const a of this.approvals) {
      expect(within(a.t, SEC)).toBeLessThanOrEqual(4);
      expect(within(a.t, 60n * SEC)).toBeLessThanOrEqual(12);
      const ps = PER_SECOND[a.strategy];
      if (ps !== undefined) expect(within(a.t, SEC, a.strategy)).toBeLessThanOrEqual(ps);
      const pm = PER_MINUTE[a.strategy];
      if (pm !== undefined) expect(within(a.t, 60n * SEC, a.strategy)).toBeLessThanOrEqual(pm);
    }
  }
}

describe('risk ledger property', () => {
  it('serialised evaluations never exceed position, exposure, balance or velocity limits', () => {
    let approved = 0;
    let denied = 0;
    const rules = new Set<string>();
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 5, arbitrary: submitArb }, fillArb, closeArb), {
          minLength: 20,
          maxLength: 120,
          size: 'max',
        }),
        (cmds) => {
          const h = new Harness();
          for (const c of cmds) {
            h.run(c, false);
            h.checkInvariants();
          }
          h.checkVelocity();
          approved += h.approved;
          denied += h.denied;
          for (const r of h.deniedBy.keys()) rules.add(r);
        },
      ),
      { numRuns: 60 },
    );
    // The generator reaches both sides of the limits.
    expect(approved).toBeGreaterThan(500);
    expect(denied).toBeGreaterThan(500);
    for (const rule of [
      'position_instrument',
      'position_strategy',
      'position_global',
      'total_exposure',
      'free_balance',
      'orders_per_second_global',
      'orders_per_second_strategy',
      'orders_per_minute_global',
      'orders_per_minute_strategy',
    ]) {
      expect(rules, rule).toContain(rule);
    }
  }, 60_000);

  it('concurrent evaluations with optimistic version checks never jointly breach a limit', () => {
    let conflicts = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 4, arbitrary: submitArb },
            { weight: 4, arbitrary: commitArb },
            fillArb,
            closeArb,
          ),
          {
            minLength: 20,
            maxLength: 150,
            size: 'max',
          },
        ),
        (cmds) => {
          const h = new Harness();
          for (const c of cmds) {
            h.run(c, true);
            h.checkInvariants();
          }
          h.checkVelocity();
          conflicts += h.conflicts;
        },
      ),
      { numRuns: 60 },
    );
    expect(conflicts).toBeGreaterThan(0);
  }, 60_000);
});
