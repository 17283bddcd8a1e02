/**
 * The ops console in a real headless Chromium against `npm start` as a process (the embedded
 * default: SIM simulated, BINANCE-SPOT LIVE on the in-process local exchange through ccxt):
 *
 * - an order submitted on Execute is FILLED, and Orders shows it with its timeline and every
 *   venue's routing score;
 * - HALTED set from the console (reason, confirmation) denies the next order with the rule, then
 *   ACTIVE resumes trading;
 * - Status shows each venue session's light, last message age and rate-limit budgets; the local
 *   exchange taken offline turns its venue red;
 * - a backtest run (a real run of the backtester into the service's results store) opens with its
 *   equity curve; a backtest started from the console's form runs on the service and opens with
 *   its equity curve too.
 *
 * Every page is saved as a screenshot in test-artifacts/console/ (CONSOLE_SCREENSHOTS_TO_DOCS=1
 * also writes docs/console/). The figures printed at the end: time from `npm start` to a usable
 * console, and the run time of each step.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalBacktest } from '../../infra/backtest/runner.ts';
import { LocalBlobStore } from '../../infra/local/blob-store.local.ts';
import { generateData } from '../../scripts/generate-data.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../../shared/backtest/model.ts';
import { NO_LIMITS } from '../../shared/risk/limits.ts';
import { type MainProcess, startMainProcess } from '../integration/support/main-process.ts';
import { launchChromium, screenshot } from './support.ts';

const browser: Browser | null = await launchChromium();
const INSTRUMENT = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const RUN_ID = 'console-demo';

/**
 * A generated market (tick data, instruments, the sample signals) in the service's backtest data
 * root (`<dataDir>/backtest-data`, where a backtest started from the console reads them), and a
 * real backtest of it in the service's results store (`<dataDir>/blobs`).
 */
async function backtestInto(dataDir: string): Promise<void> {
  const root = path.join(dataDir, 'backtest-data');
  const store = new LocalBlobStore(root, { durable: false });
  await generateData(store, { start: '2025-07-01', days: 1, seed: 7, tradesPerDay: 5_000 });
  const signals = await readFile(path.join(root, 'signals/sample.jsonl'), 'utf8');
  const out = path.join(dataDir, 'blobs');
  const result = await runLocalBacktest({
    signals: { text: signals, source: 'sample.jsonl' },
    data: store,
    dataLocation: root,
    results: new LocalBlobStore(out, { durable: false }),
    resultsLocation: out,
    runId: RUN_ID,
    settings: DEFAULT_BACKTEST_SETTINGS,
    limits: { ...NO_LIMITS, price_tolerance_bps: 500 },
    workers: 1,
    inline: true,
  });
  if (result.status !== 'completed') throw new Error(`backtest ${result.status}`);
}

describe.skipIf(browser === null)('the ops console in headless Chromium', () => {
  let dataDir: string;
  let service: MainProcess;
  let page: Page;
  const figures: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'console-browser-'));
    await backtestInto(dataDir);
    const started = performance.now();
    service = await startMainProcess(
      {
        EXEC_DATA_DIR: dataDir,
        EXEC_CONFIG: '',
        EXEC_LOCAL_EXCHANGE: '',
        BINANCE_SPOT_API_KEY: '',
        BINANCE_SPOT_API_SECRET: '',
        LOG_LEVEL: 'info',
        METADATA_SERVER_DETECTION: 'none',
      },
      { startTimeoutMs: 180_000, npm: true },
    );
    const listening = performance.now();
    const context = await (browser as Browser).newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    await page.goto(`${service.url}/status`);
    await page.getByRole('navigation', { name: 'Pages' }).waitFor();
    await page
      .locator('[data-testid="venue-row"][data-venue="BINANCE-SPOT"][data-ok="true"]')
      .waitFor({ timeout: 60_000 });
    const usable = performance.now();
    figures.push(
      `npm start → API listening ${((listening - started) / 1000).toFixed(1)} s, → console usable (Status page, venues up) ${((usable - started) / 1000).toFixed(1)} s`,
    );
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    // npm exits before the service it started has finished its shutdown writes (the session
    // recording's last flush): retry while the folder still fills.
    if (dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    process.stdout.write(
      `\nconsole browser figures (shared 2-core machine, noisy):\n  ${figures.join('\n  ')}\n`,
    );
  });

  const open = async (label: string) => {
    await page
      .getByRole('navigation', { name: 'Pages' })
      .getByRole('link', { name: label, exact: true })
      .click();
    await page.getByRole('heading', { level: 1 }).first().waitFor();
  };

  const submitMarketBuy = async (quantity: string): Promise<string> => {
    await open('Execute');
    await page.getByLabel('Instrument').fill(INSTRUMENT);
    await page.getByLabel('Order type').selectOption('MARKET');
    await page.getByLabel('Quantity').fill(quantity);
    const operationId = await page.getByLabel('Operation id').inputValue();
    await page.getByRole('button', { name: 'Submit BUY' }).click();
    return operationId;
  };

  const sentStatus = (operationId: string) =>
    page.locator(
      `[data-testid="sent-order"][data-operation-id="${operationId}"] [data-testid="sent-status"]`,
    );

  it('submits an order on Execute and shows it FILLED in Orders with its timeline and routing scores', async () => {
    const t0 = performance.now();
    await open('Execute');
    // Validation beside the field, before anything is sent.
    await page.getByLabel('Quantity').fill('-1');
    await expect
      .poll(() => page.locator('#order-quantity-error').textContent())
      .toContain('must be greater than 0');
    await page.getByLabel('Instrument').fill(INSTRUMENT);
    await page.getByLabel('Order type').selectOption('MARKET');
    await page.getByLabel('Quantity').fill('0.01');
    await expect.poll(() => page.getByTestId('cli-preview').textContent()).toContain('--quantity 0.01');
    await screenshot(page, 'execute');
    const operationId = await page.getByLabel('Operation id').inputValue();
    await page.getByRole('button', { name: 'Submit BUY' }).click();
    await expect.poll(() => sentStatus(operationId).textContent(), { timeout: 30_000 }).toBe('FILLED');

    // Keyboard: Alt+2 opens Orders.
    await page.keyboard.press('Alt+2');
    await page.getByRole('heading', { name: 'Orders', level: 1 }).waitFor();
    const row = page.locator('[data-testid="order-row"]', { hasText: operationId });
    await expect.poll(() => row.getAttribute('data-status')).toBe('FILLED');
    await screenshot(page, 'orders');
    await row.getByRole('link', { name: operationId }).click();
    await expect.poll(() => page.getByTestId('order-status').textContent()).toBe('FILLED');
    const types = await page
      .getByTestId('timeline-event')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    expect(types).toEqual(
      expect.arrayContaining([
        'OrderReceived',
        'OrderRiskApproved',
        'OrderRouted',
        'OrderAccepted',
        'OrderFilled',
      ]),
    );
    const scores = page.getByTestId('routing-scores');
    await expect.poll(() => scores.locator('tbody tr').count()).toBeGreaterThanOrEqual(2);
    expect(await scores.textContent()).toContain('BINANCE-SPOT');
    expect(await scores.textContent()).toContain('SIM');
    expect(await page.getByTestId('fills').locator('tbody tr').count()).toBeGreaterThan(0);
    await screenshot(page, 'order-detail');
    figures.push(`Execute → FILLED in Orders: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('shows positions marked to the mid and the TCA of the filled order', async () => {
    await open('Positions');
    await expect.poll(() => page.getByTestId('position-row').count()).toBeGreaterThan(0);
    expect(await page.getByRole('table', { name: 'Positions by instrument' }).textContent()).toContain(
      'BTC-USDT',
    );
    await screenshot(page, 'positions');
    await open('TCA');
    await expect
      .poll(() => page.getByRole('table', { name: 'TCA per order' }).locator('tbody tr').count())
      .toBeGreaterThan(0);
    await screenshot(page, 'tca');
  });

  it('HALTED from the console denies the next order with the rule; ACTIVE resumes', async () => {
    const t0 = performance.now();
    await open('Trading state');
    await page.getByRole('radio', { name: 'HALTED' }).check();
    await page.getByRole('button', { name: 'Review change' }).click();
    await expect.poll(() => page.locator('#ts-reason-error').textContent()).toContain('a reason is required');
    await page.getByLabel(/^Reason/).fill('exchange incident drill');
    await page.getByRole('button', { name: 'Review change' }).click();
    await page.getByRole('button', { name: 'Confirm HALTED' }).click();
    await expect.poll(() => page.getByTestId('global-state').textContent()).toBe('HALTED');
    await expect.poll(() => page.getByTestId('trading-state-badge').textContent()).toBe('HALTED');
    await screenshot(page, 'trading-state');
    // Every order intake honours a change within risk.trading_state_poll_ms (≤ 1 s, the contract).
    await page.waitForTimeout(1_100);

    const denied = await submitMarketBuy('0.01');
    await expect.poll(() => sentStatus(denied).textContent(), { timeout: 30_000 }).toBe('DENIED');
    await page.goto(`${service.url}/orders/${denied}`);
    const deniedEvent = page.locator('[data-testid="timeline-event"][data-type="OrderDenied"]');
    await expect.poll(() => deniedEvent.textContent()).toContain('trading_state');
    expect(await deniedEvent.textContent()).toContain('HALTED');

    await open('Logs');
    await expect
      .poll(() => page.locator('[data-testid="event-row"][data-outcome="denied"]').count())
      .toBeGreaterThan(0);
    await screenshot(page, 'logs');

    await open('Trading state');
    await page.getByRole('radio', { name: 'ACTIVE' }).check();
    await page.getByLabel(/^Reason/).fill('drill over');
    await page.getByRole('button', { name: 'Review change' }).click();
    await page.getByRole('button', { name: 'Confirm ACTIVE' }).click();
    await expect.poll(() => page.getByTestId('global-state').textContent()).toBe('ACTIVE');
    const history = await page.getByRole('table', { name: 'Trading state changes' }).textContent();
    expect(history).toContain('exchange incident drill');
    expect(history).toContain('local');
    await page.waitForTimeout(1_100);
    const resumed = await submitMarketBuy('0.01');
    await expect.poll(() => sentStatus(resumed).textContent(), { timeout: 30_000 }).toBe('FILLED');
    figures.push(`HALT → DENIED → resume → FILLED: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('opens a backtest run with its equity curve and drawdown', async () => {
    await open('Backtests');
    const row = page.locator('[data-testid="backtest-row"]', { hasText: RUN_ID });
    await row.waitFor();
    await screenshot(page, 'backtests');
    await row.getByRole('link', { name: RUN_ID }).click();
    await page.getByTestId('equity-chart').locator('canvas').waitFor();
    await screenshot(page, 'backtest-run');
  });

  it('starts a backtest from the console and opens its equity curve when it completes', async () => {
    const t0 = performance.now();
    await open('Backtests');
    const form = page.getByRole('form', { name: 'Start a backtest' });
    await form.getByLabel('Signals file').selectOption('signals/sample.jsonl');
    await form.getByLabel('Run id').fill('console-started');
    // Invalid first: the error beside its field, nothing started.
    await form.getByLabel('Window (minutes)').fill('0');
    await form.getByRole('button', { name: 'Start backtest' }).click();
    await expect
      .poll(() => page.locator('#bt-window-error').textContent())
      .toBe('must be between 1 and 1440');
    await form.getByLabel('Window (minutes)').fill('5');
    await form.getByLabel('Window (minutes)').press('Enter');
    await expect
      .poll(() => page.getByTestId('backtest-started').textContent())
      .toMatch(/^started console-started/);
    const row = page.locator('[data-testid="backtest-row"][data-run-id="console-started"]');
    await row.waitFor();
    await screenshot(page, 'backtest-start');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 150_000 }).toBe('completed');
    await row.getByRole('link', { name: 'console-started' }).click();
    await page.getByTestId('equity-chart').locator('canvas').waitFor();
    figures.push(
      `backtest started from the console → completed, curve shown: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  });

  it('shows the venue red on Status when the local exchange stops', async () => {
    const t0 = performance.now();
    await open('Status');
    const venue = page.locator('[data-testid="venue-row"][data-venue="BINANCE-SPOT"]');
    await expect.poll(() => venue.getAttribute('data-ok'), { timeout: 60_000 }).toBe('true');
    // The session: a fresh message from the venue, and its ccxt weight and order budgets.
    const session = page.locator('[data-testid="session-row"][data-venue="BINANCE-SPOT"]');
    await expect.poll(() => session.getAttribute('data-state'), { timeout: 60_000 }).toBe('GREEN');
    const age = Number(await session.getByTestId('message-age').getAttribute('data-age-ms'));
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(15_000);
    await expect
      .poll(() =>
        session
          .locator('[data-testid="budget"][data-name="REQUEST_WEIGHT_1M"] [data-testid="budget-used"]')
          .textContent(),
      )
      .toMatch(/^(?!0\/)\d+(\.\d+)?\/6000$/);
    expect(await session.locator('[data-testid="budget"][data-name="ORDERS_10S"]').count()).toBe(1);
    expect(await session.getByTestId('reconciliation').textContent()).toMatch(/OK|CORRECTED|NOT_RUN/);
    const sim = page.locator('[data-testid="session-row"][data-venue="SIM"]');
    await expect.poll(() => sim.getAttribute('data-state')).toBe('GREEN');
    expect(await sim.textContent()).toContain('not paced by venue budgets');
    await screenshot(page, 'status');
    await page.getByRole('button', { name: 'Take local exchange offline' }).click();
    await expect.poll(() => venue.getAttribute('data-ok'), { timeout: 90_000 }).toBe('false');
    await expect.poll(() => session.getAttribute('data-state'), { timeout: 90_000 }).toBe('RED');
    expect(await page.locator('[data-testid="venue-row"][data-venue="SIM"]').getAttribute('data-ok')).toBe(
      'true',
    );
    await screenshot(page, 'status-venue-down');
    figures.push(`local exchange offline → venue red: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await page.getByRole('button', { name: 'Bring local exchange online' }).click();
    await expect.poll(() => page.getByTestId('local-exchange-state').textContent()).toBe('online');
  });
});
