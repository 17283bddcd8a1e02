/** Shared fixtures of the recording tests and benchmark: one instrument, a start time, temp folders. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstrumentSpec } from '../../shared/domain/types.ts';

export const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
/** 2025-07-01T00:00:00Z in nanoseconds. */
export const T0 = 1_751_328_000_000_000_000n;
export const SEC = 1_000_000_000n;
export const MS = 1_000_000n;

export const BTC_SPEC: InstrumentSpec = Object.freeze({
  instrument_key: BTC,
  tick_size: '0.01',
  step_size: '0.00001',
  min_qty: '0.00001',
  max_qty: '9000',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
});

/** Temporary folders made with `make()`, all removed by `removeAll()`. */
export function tempFolders(prefix: string): { make(): string; removeAll(): void } {
  const dirs: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    removeAll() {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
