/**
 * A backtest worker thread (started by pool.ts through worker-bootstrap.mjs): opens the data and
 * results stores named in its workerData once and runs the windows it is sent one at a time,
 * answering each with its outcome or a classified failure. Windows carry their planned byte ranges
 * (the manifest's `reads`), so a worker reads no footer; the cache serves only windows planned
 * without them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { z } from 'zod';
import {
  BacktestSettingsSchema,
  RiskLimitsSchema,
  RunIdSchema,
  WindowPlanSchema,
} from '../../shared/backtest/model.ts';
import { FooterCache } from '../parquet/reader.ts';
import { openBlobLocation } from '../ticks/blob-location.ts';
import type { WorkerReply } from './pool.ts';
import { runWindowTask, WindowFailedError } from './window-task.ts';

const InitSchema = z.object({
  entry: z.string(),
  dataLocation: z.string(),
  resultsLocation: z.string(),
});
const RequestSchema = z.strictObject({
  type: z.literal('run'),
  id: z.number().int(),
  task: z.strictObject({
    run_id: RunIdSchema,
    window: WindowPlanSchema,
    settings: BacktestSettingsSchema,
    limits: RiskLimitsSchema,
  }),
});

const port = parentPort;
if (port === null) throw new Error('infra/backtest/worker.ts must run in a worker thread');
const init = InitSchema.parse(workerData);
const data = await openBlobLocation(init.dataLocation, { durable: false });
const results = await openBlobLocation(init.resultsLocation);
const cache = new FooterCache();

function reply(r: WorkerReply): void {
  port?.postMessage(r);
}

port.on('message', (raw: unknown) => {
  const parsed = RequestSchema.safeParse(raw);
  if (!parsed.success) {
    reply({
      id: -1,
      ok: false,
      error: { code: 'bad_request', window_id: null, file: null, message: parsed.error.message },
    });
    return;
  }
  const { id, task } = parsed.data;
  runWindowTask({ data, results, cache }, task).then(
    (outcome) => reply({ id, ok: true, outcome, rss: process.memoryUsage().rss }),
    (err: unknown) => {
      if (err instanceof WindowFailedError) {
        reply({
          id,
          ok: false,
          error: { code: err.code, window_id: err.window_id, file: err.file, message: err.message },
        });
      } else {
        const message = err instanceof Error ? err.message : String(err);
        reply({
          id,
          ok: false,
          error: {
            code: 'error',
            window_id: task.window.window_id,
            file: null,
            message: `window ${task.window.window_id}: ${message}`,
          },
        });
      }
    },
  );
});
