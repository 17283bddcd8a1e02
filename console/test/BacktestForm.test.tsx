/** Starting a backtest: the API's own schema beside each field, nothing sent while invalid, focus, upload, server issues. */
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiFailure } from '../src/api.ts';
import { BacktestForm } from '../src/components/BacktestForm.tsx';

afterEach(cleanup);

const INPUTS = {
  signals: ['signals/sample.jsonl', 'signals/momentum.jsonl'],
  data: [{ venue: 'SIM', first_day: '2025-07-01', last_day: '2025-07-03', days: 3 }],
};

function setup(onSubmit = vi.fn(async () => undefined)) {
  render(<BacktestForm inputs={INPUTS} onSubmit={onSubmit} />);
  return { onSubmit, user: userEvent.setup() };
}

describe('BacktestForm', () => {
  it('every control has a label; the stored signals come from the list; the tick data is shown', () => {
    setup();
    for (const label of [
      'Signals file',
      'Instruments',
      'From (UTC day)',
      'To (UTC day, inclusive)',
      'Algorithm',
      'Window (minutes)',
      'Seed',
      'Starting cash',
      'Run id',
    ]) {
      expect(screen.getByLabelText(label)).toBeTruthy();
    }
    const options = [...(screen.getByLabelText('Signals file') as HTMLSelectElement).options].map(
      (o) => o.value,
    );
    expect(options).toEqual(['', 'signals/sample.jsonl', 'signals/momentum.jsonl']);
    expect(screen.getByTestId('tick-data').textContent).toBe('Tick data: SIM 2025-07-01 → 2025-07-03');
  });

  it('shows each error beside its field, moves the focus to the first, and sends nothing', async () => {
    const { user, onSubmit } = setup();
    await user.type(screen.getByLabelText('Window (minutes)'), '0');
    await user.type(screen.getByLabelText('Seed'), 'x');
    await user.type(screen.getByLabelText('Starting cash'), '-5');
    await user.type(screen.getByLabelText('Instruments'), 'BTC');
    await user.click(screen.getByRole('button', { name: 'Start backtest' }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(document.getElementById('bt-window-error')?.textContent).toBe('must be between 1 and 1440');
    expect(document.getElementById('bt-seed-error')?.textContent).toBe('must be an integer');
    expect(document.getElementById('bt-cash-error')?.textContent).toBe('must be greater than 0, got -5');
    expect(document.getElementById('bt-instruments-error')?.textContent).toBeTruthy();
    expect(screen.getByLabelText('Seed').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByLabelText('Seed').getAttribute('aria-describedby')).toBe('bt-seed-error');
    expect(document.activeElement?.id).toBe('bt-instruments');
  });

  it('needs a signals file, and a date range in order', async () => {
    const { user, onSubmit } = setup();
    await user.type(screen.getByLabelText('From (UTC day)'), '2025-07-03');
    await user.type(screen.getByLabelText('To (UTC day, inclusive)'), '2025-07-01');
    await user.click(screen.getByRole('button', { name: 'Start backtest' }));
    expect(document.getElementById('bt-signals-error')?.textContent).toBe(
      'choose a stored signals file or upload one (exactly one)',
    );
    expect(document.getElementById('bt-to-error')?.textContent).toBe('must not be before from');
    expect(document.activeElement?.id).toBe('bt-signals');
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('sends what the API takes: stored signals, instruments, days, algorithm and settings', async () => {
    const { user, onSubmit } = setup();
    await user.selectOptions(screen.getByLabelText('Signals file'), 'signals/sample.jsonl');
    await user.type(screen.getByLabelText('Instruments'), 'SIM:SPOT_PAIR:BTC-USDT, SIM:SPOT_PAIR:ETH-USDT');
    await user.type(screen.getByLabelText('From (UTC day)'), '2025-07-01');
    await user.selectOptions(screen.getByLabelText('Algorithm'), 'TWAP');
    await user.type(screen.getByLabelText('Window (minutes)'), '10');
    await user.type(screen.getByLabelText('Run id'), 'my-run');
    await user.keyboard('{Enter}');
    await waitFor(() =>
      expect(onSubmit).toHaveBeenCalledWith({
        signals_key: 'signals/sample.jsonl',
        instruments: ['SIM:SPOT_PAIR:BTC-USDT', 'SIM:SPOT_PAIR:ETH-USDT'],
        from: '2025-07-01',
        exec_algorithm: 'TWAP',
        window_minutes: 10,
        run_id: 'my-run',
      }),
    );
  });

  it('uploads a signals file instead, and shows the API issues beside the fields', async () => {
    const onSubmit = vi.fn(async () => {
      throw new ApiFailure(
        400,
        'invalid_request',
        'instruments: no signal is left',
        [
          {
            path: 'instruments',
            message: 'no signal of up.jsonl (1 lines) is left by the chosen instruments and dates',
          },
        ],
        null,
      );
    });
    const { user } = setup(onSubmit);
    await user.click(screen.getByRole('radio', { name: 'Upload' }));
    const file = new File(['{"ts":"2025-07-01T00:00:00Z"}\n'], 'up.jsonl', { type: 'application/json' });
    await user.upload(screen.getByLabelText('Signals file (JSON Lines)'), file);
    await user.click(screen.getByRole('button', { name: 'Start backtest' }));
    await waitFor(() =>
      expect(onSubmit).toHaveBeenCalledWith({
        signals_text: '{"ts":"2025-07-01T00:00:00Z"}\n',
        signals_name: 'up.jsonl',
      }),
    );
    await waitFor(() =>
      expect(document.getElementById('bt-instruments-error')?.textContent).toBe(
        'no signal of up.jsonl (1 lines) is left by the chosen instruments and dates',
      ),
    );
    expect(screen.getAllByRole('alert').map((a) => a.textContent)).toContain(
      'instruments: no signal is left',
    );
  });
});
