import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  composeFunctionDeps,
  FunctionStartupError,
  loadFunctionConfig,
} from '../../../functions/shared/runtime.ts';

const dir = mkdtempSync(join(tmpdir(), 'fn-runtime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('cold start configuration', () => {
  it('fails fast with every bad field named', () => {
    const path = file(
      'bad.json',
      JSON.stringify({ storage: { bus: 'kafka' }, risk: { max_orders_per_second: -1 } }),
    );
    let err: unknown;
    try {
      loadFunctionConfig({ configPath: path, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FunctionStartupError);
    const message = err instanceof Error ? err.message : '';
    expect(message).toMatch(/^order functions cannot start: the configuration is invalid \(CONFIG_INVALID\)/);
    expect(message).toContain(path);
    expect(message).toContain('storage.bus');
    expect(message).toContain('risk.max_orders_per_second');
  });

  it('names a missing file and malformed JSON', () => {
    expect(() => loadFunctionConfig({ configPath: join(dir, 'nope.json'), env: {} })).toThrow(
      /CONFIG_NOT_FOUND/,
    );
    const path = file('broken.json', '{"storage": {');
    expect(() => loadFunctionConfig({ configPath: path, env: {} })).toThrow(/CONFIG_INVALID_JSON.*line 1/);
  });

  it('fails the import of a function module (the instance never serves)', async () => {
    process.env.EXEC_CONFIG = file(
      'bad-import.json',
      JSON.stringify({ risk: { max_orders_per_second: -1 } }),
    );
    await expect(import('../../../functions/order-intake/index.ts')).rejects.toThrow(
      /order functions cannot start.*risk\.max_orders_per_second/s,
    );
    delete process.env.EXEC_CONFIG;
  });
});

describe('composeFunctionDeps', () => {
  it('builds a working OrderService from the embedded default (local storage, memory bus)', async () => {
    const data = mkdtempSync(join(dir, 'data-'));
    const deps = await composeFunctionDeps({ env: { EXEC_DATA_DIR: data } });
    try {
      expect(deps.platform.adapters.bus).toBe('memory');
      const out = await deps.service.submit(
        {
          operation_id: 'OP-RT-1',
          instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
          side: 'BUY',
          quantity: '0.01',
          price: null,
          order_type: 'MARKET',
          time_in_force: 'GTC',
          strategy_id: 's',
          exec_algorithm: 'NORMAL',
          exec_algorithm_params: {},
          reference_price: '60000',
        },
        { via: 'internal' },
      );
      expect(out.kind).toBe('routed');
      expect((await deps.service.get('OP-RT-1'))?.timeline.map((e) => e.type)).toEqual([
        'OrderReceived',
        'OrderRiskApproved',
        'OrderRouted',
      ]);
    } finally {
      await deps.close();
      await deps.close(); // idempotent
    }
  });
});
