// Entry of a backtest worker thread: registers tsx (so the worker can load the project's .ts
// modules, as the main thread does under `tsx`), then imports the TypeScript entry named in
// workerData.entry. Node 20 does not apply `--import tsx` from a Worker's execArgv to the worker's
// own entry module, hence this small plain-JavaScript shim.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
