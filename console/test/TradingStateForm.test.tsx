/** Trading-state control: reason required, strategy id required for a strategy, explicit confirmation. */
import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TradingStateForm } from '../src/components/TradingStateForm.tsx';

afterEach(cleanup);

function setup() {
  const onSubmit = vi.fn(async () => undefined);
  render(<TradingStateForm current="ACTIVE" onSubmit={onSubmit} />);
  return { onSubmit, user: userEvent.setup() };
}

describe('TradingStateForm', () => {
  it('requires a reason, beside the field, and sends nothing without one', async () => {
    const { user, onSubmit } = setup();
    await user.click(screen.getByRole('radio', { name: 'HALTED' }));
    await user.click(screen.getByRole('button', { name: 'Review change' }));
    const reason = screen.getByLabelText(/^Reason/);
    expect(reason.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById('ts-reason-error')?.textContent).toBe('a reason is required');
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('asks for a strategy id when the scope is one strategy', async () => {
    const { user, onSubmit } = setup();
    await user.click(screen.getByRole('radio', { name: /One strategy/ }));
    await user.type(screen.getByLabelText(/^Reason/), 'too many rejects');
    await user.click(screen.getByRole('button', { name: 'Review change' }));
    expect(document.getElementById('ts-strategy-error')?.textContent).toBe('must not be empty');
    expect(onSubmit).not.toHaveBeenCalled();
  });

  it('confirms before sending; the confirm button takes the focus; Back cancels', async () => {
    const { user, onSubmit } = setup();
    await user.click(screen.getByRole('radio', { name: 'HALTED' }));
    await user.type(screen.getByLabelText(/^Reason/), 'exchange incident');
    await user.click(screen.getByRole('button', { name: 'Review change' }));
    const dialog = screen.getByRole('alertdialog');
    expect(dialog.textContent).toContain('Set the whole platform to HALTED?');
    expect(dialog.textContent).toContain('exchange incident');
    await waitFor(() => expect(document.activeElement?.textContent).toBe('Confirm HALTED'));
    await user.click(screen.getByRole('button', { name: 'Back' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(onSubmit).not.toHaveBeenCalled();

    await user.click(screen.getByRole('button', { name: 'Review change' }));
    await user.keyboard('{Enter}');
    await waitFor(() =>
      expect(onSubmit).toHaveBeenCalledWith({ state: 'HALTED', reason: 'exchange incident' }),
    );
  });
});
