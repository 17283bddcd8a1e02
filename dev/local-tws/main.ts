/**
 * The local TWS as a standalone process (`npm run local-tws -- [options]`), for an IBKR venue or any
 * TWS API client to connect to. Prints one JSON line when listening; stops on SIGINT / SIGTERM.
 * Refuses to start in a production process (NODE_ENV=production or on Cloud Run).
 *
 *   --port 7497            TCP port (default 7497, TWS's paper-trading port; 0 picks a free one)
 *   --host 127.0.0.1       interface
 *   --seed 42              seed of the market
 *   --session always       always | instrument (each contract's real hours)
 *   --account DU1234567    the managed account
 *   --cash 1000000         starting cash, USD
 *   --delayed              no real-time market data permission (delayed data only)
 */
import { parseArgs } from 'node:util';
import { isProduction } from '../../stateful/edge/embedded.ts';
import { ALWAYS_OPEN, startLocalTws } from './index.ts';

function fail(message: string): never {
  process.stderr.write(`local-tws: ${message}\n`);
  process.exit(2);
}

if (isProduction(process.env)) fail('the local TWS never starts in a production process');

function parse() {
  try {
    return parseArgs({
      options: {
        port: { type: 'string', default: '7497' },
        host: { type: 'string', default: '127.0.0.1' },
        seed: { type: 'string', default: '42' },
        session: { type: 'string', default: 'always' },
        account: { type: 'string', default: 'DU1234567' },
        cash: { type: 'string', default: '1000000' },
        delayed: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
}
const values = parse();

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535)
  fail(`--port must be a port number, got "${values.port}"`);
const seed = Number(values.seed);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got "${values.seed}"`);
if (values.session !== 'always' && values.session !== 'instrument') {
  fail(`--session must be "always" or "instrument", got "${values.session}"`);
}
if (!/^\d+(\.\d+)?$/.test(values.cash)) fail(`--cash must be a positive decimal, got "${values.cash}"`);

const tws = await startLocalTws({
  port,
  host: values.host,
  seed,
  session: values.session === 'instrument' ? 'instrument' : ALWAYS_OPEN,
  account: values.account,
  startingCash: values.cash,
  realtimeMarketData: !values.delayed,
});
process.stdout.write(
  `${JSON.stringify({ localTws: 'listening', host: tws.host, port: tws.port, account: tws.account, serverVersion: tws.serverVersion })}\n`,
);
const stop = (): void => {
  void tws.stop().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
