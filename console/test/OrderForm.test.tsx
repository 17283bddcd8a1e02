/**
 * The order ticket's validation in the DOM: errors from the API's own schema beside their fields
 * (aria-invalid, aria-describedby), nothing sent while invalid, focus on the first bad field,
 * algorithm parameters, server-side issues, and the CLI / curl previews.
 */
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrderForm, type OrderFormProps } from '../src/components/OrderForm.tsx';

const INSTRUMENT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const venues = [
  { id: 'SIM', mode: 'SIMULATED', enabled: true },
  { id: 'BINANCE-SPOT', mode: 'LIVE', enabled: true },
];

type Submit = OrderFormProps['onSubmit'];

function setup(onSubmit = vi.fn<Submit>(async () => undefined)) {
  render(
    <OrderForm
      instruments={[INSTRUMENT]}
      venues={venues}
      baseUrl="http://127.0.0.1:8080"
      onSubmit={onSubmit}
      initial={{ operation_id: 'op-test-1' }}
    />,
  );
  return { onSubmit, user: userEvent.setup() };
}

const errorOf = (label: string | RegExp) => {
  const input = screen.getByLabelText(label);
  const ids = (input.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id.endsWith('-error'));
  return ids.length === 0 ? null : (document.getElementById(ids[0] as string)?.textContent ?? null);
};

afterEach(cleanup);

describe('OrderForm', () => {
  it('labels every control', () => {
    setup();
    for (const label of [
      'Venue',
      'Instrument',
      'Side',
      'Order type',
      'Quantity',
      'Price',
      'Time in force',
      'Strategy',
      'Algorithm',
      'Operation id',
    ]) {
      expect(screen.getByLabelText(label)).toBeTruthy();
    }
  });

  it('shows the schema message beside the field once it is touched', async () => {
    const { user } = setup();
    const qty = screen.getByLabelText('Quantity');
    expect(qty.getAttribute('aria-invalid')).toBe('false');
    await user.type(qty, '-1');
    expect(qty.getAttribute('aria-invalid')).toBe('true');
    expect(errorOf('Quantity')).toBe('must be greater than 0, got -1');
    // Untouched fields stay quiet until a submit is tried.
    expect(errorOf('Instrument')).toBeNull();
  });

  it('sends nothing while invalid, lists every bad field and focuses the first', async () => {
    const { user, onSubmit } = setup();
    await user.click(screen.getByRole('button', { name: 'Submit BUY' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(errorOf('Instrument')).toMatch(/instrument/i);
    expect(errorOf('Quantity')).toMatch(/empty|decimal/);
    expect(errorOf('Price')).toBe('price is required for LIMIT orders');
    expect(screen.getByRole('status').textContent).toMatch(/fields to fix/);
    expect(document.activeElement?.id).toBe('order-instrument_key');
  });

  it('checks the algorithm parameters: TWAP duration and ICEBERG display quantity', async () => {
    const { user } = setup();
    await user.selectOptions(screen.getByLabelText('Algorithm'), 'TWAP');
    await user.type(screen.getByLabelText('Duration (s)'), 'abc');
    expect(errorOf('Duration (s)')).toBe('must be an integer number of seconds');
    await user.clear(screen.getByLabelText('Duration (s)'));
    await user.type(screen.getByLabelText('Duration (s)'), '5');
    await user.type(screen.getByLabelText('Slices'), '10');
    expect(errorOf('Slices')).toMatch(/10 slices over 5 s/);

    await user.selectOptions(screen.getByLabelText('Algorithm'), 'ICEBERG');
    await user.type(screen.getByLabelText('Quantity'), '1');
    await user.type(screen.getByLabelText('Display quantity'), '2');
    expect(errorOf('Display quantity')).toBe('display_quantity (2) must be less than quantity (1)');
  });

  it('submits a valid ticket as the API body and previews the same order for the CLI and curl', async () => {
    const { user, onSubmit } = setup();
    await user.type(screen.getByLabelText('Instrument'), INSTRUMENT);
    await user.selectOptions(screen.getByLabelText('Venue'), 'BINANCE-SPOT');
    await user.type(screen.getByLabelText('Quantity'), '0.010');
    await user.type(screen.getByLabelText('Price'), '60000');
    expect(screen.getByTestId('cli-preview').textContent).toBe(
      `npm run cli -- order submit --instrument ${INSTRUMENT} --side BUY --type LIMIT --quantity 0.010 --price 60000 --tif GTC --strategy manual --venue BINANCE-SPOT --operation-id op-test-1`,
    );
    expect(screen.getByTestId('curl-preview').textContent).toContain(
      'curl -sS -X POST http://127.0.0.1:8080/api/orders',
    );
    await user.click(screen.getByRole('button', { name: 'Submit BUY' }));
    await waitFor(() => expect(onSubmit).toHaveBeenCalledTimes(1));
    expect(onSubmit.mock.calls[0]?.[0]).toEqual({
      operation_id: 'op-test-1',
      instrument_key: INSTRUMENT,
      side: 'BUY',
      order_type: 'LIMIT',
      quantity: '0.010',
      price: '60000',
      time_in_force: 'GTC',
      strategy_id: 'manual',
      exec_algorithm: 'NORMAL',
      exec_algorithm_params: {},
      venue: 'BINANCE-SPOT',
    });
    // A fresh idempotency key for the next order.
    await waitFor(() =>
      expect((screen.getByLabelText('Operation id') as HTMLInputElement).value).not.toBe('op-test-1'),
    );
  });

  it('shows the issues the API answered beside their fields', async () => {
    const onSubmit = vi.fn<Submit>(async () => ({
      issues: [{ path: 'instrument_key', message: 'unknown instrument X: not in the instrument catalog' }],
    }));
    const { user } = setup(onSubmit);
    await user.type(screen.getByLabelText('Instrument'), INSTRUMENT);
    await user.selectOptions(screen.getByLabelText('Order type'), 'MARKET');
    await user.type(screen.getByLabelText('Quantity'), '1');
    await user.click(screen.getByRole('button', { name: 'Submit BUY' }));
    await waitFor(() =>
      expect(errorOf('Instrument')).toBe('unknown instrument X: not in the instrument catalog'),
    );
  });
});
