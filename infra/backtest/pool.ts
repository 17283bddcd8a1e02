/**
 * A fixed pool of worker threads running backtest windows (the local, embedded fan-out). Each
 * worker runs one window at a time; tasks are handed out in submission order as workers free up.
 * A worker that dies fails the task it held and is replaced.
 *
 * Workers start on the worker's module graph bundled once per process (worker-entry.ts), or, where
 * esbuild is not installed, load the project's TypeScript through tsx (worker-bootstrap.mjs); the
 * pool works the same under `tsx`, `node --import tsx` and vitest. Tasks submitted before the
 * entry is ready wait in the queue.
 */
import { Worker } from 'node:worker_threads';
import { utcDayOf } from '../../shared/data/tick-layout.ts';
import type { WindowOutcome, WindowTask } from './window-task.ts';
import { WORKER_TS_ENTRY, type WorkerEntry, workerEntry } from './worker-entry.ts';

export interface WorkerFailure {
  code: string;
  window_id: string | null;
  file: string | null;
  message: string;
}

export type WorkerReply =
  | { id: number; ok: true; outcome: WindowOutcome; rss: number }
  | { id: number; ok: false; error: WorkerFailure };

/** A window failed in a worker (permanently or not: the local runner fails the run either way). */
export class PoolTaskError extends Error {
  constructor(readonly failure: WorkerFailure) {
    super(failure.message);
    this.name = 'PoolTaskError';
  }
}

interface Pending {
  id: number;
  task: WindowTask;
  affinity: string;
  resolve: (o: WindowOutcome) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
  /** Affinity of the last task it ran: its footer cache holds that instrument-day's files. */
  last: string | null;
  /** 'error' and 'exit' both fire for a dying worker: handle it once. */
  dead: boolean;
}

const MAX_RESPAWNS_PER_WORKER = 3;

export interface PoolOptions {
  size: number;
  dataLocation: string;
  resultsLocation: string;
  /** How workers load their code (default `bundle`; `tsx` for comparisons): see worker-entry.ts. */
  entry?: WorkerEntry['kind'] | undefined;
}

export class WindowPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;
  /** Workers replaced after dying; past a limit (a worker that cannot even start) queued tasks fail. */
  private respawns = 0;
  /** Largest process RSS a worker reported after a window (bytes; the process is shared). */
  peakRss = 0;
  /** Resolves once the workers are started (their entry module is ready). */
  readonly started: Promise<WorkerEntry>;
  private entry: WorkerEntry | null = null;

  constructor(private readonly opts: PoolOptions) {
    if (!Number.isInteger(opts.size) || opts.size < 1)
      throw new RangeError(`pool size must be ≥ 1, got ${opts.size}`);
    this.started = workerEntry(opts.entry).then((entry) => {
      this.entry = entry;
      if (!this.closed) {
        for (let i = 0; i < opts.size; i++) this.slots.push(this.spawn(entry));
        this.pump();
      }
      return entry;
    });
  }

  private spawn(entry: WorkerEntry): Slot {
    const worker = new Worker(entry.url, {
      workerData: {
        entry: WORKER_TS_ENTRY,
        dataLocation: this.opts.dataLocation,
        resultsLocation: this.opts.resultsLocation,
      },
    });
    const slot: Slot = { worker, current: null, last: null, dead: false };
    worker.on('message', (r: WorkerReply) => this.onReply(slot, r));
    const die = (err: Error) => {
      if (slot.dead) return;
      slot.dead = true;
      const p = slot.current;
      slot.current = null;
      if (p !== null) {
        p.reject(
          new PoolTaskError({
            code: 'worker_died',
            window_id: p.task.window.window_id,
            file: null,
            message: `window ${p.task.window.window_id}: worker died: ${err.message}`,
          }),
        );
      }
      if (this.closed) return;
      const i = this.slots.indexOf(slot);
      if (this.respawns >= MAX_RESPAWNS_PER_WORKER * this.opts.size) {
        if (i >= 0) this.slots.splice(i, 1);
        if (this.slots.length === 0) {
          for (const q of this.queue.splice(0)) {
            q.reject(
              new PoolTaskError({
                code: 'worker_died',
                window_id: q.task.window.window_id,
                file: null,
                message: `window ${q.task.window.window_id}: no worker thread could be kept running (last error: ${err.message})`,
              }),
            );
          }
        }
        return;
      }
      this.respawns++;
      if (i >= 0) this.slots[i] = this.spawn(entry);
      this.pump();
    };
    worker.on('error', die);
    worker.on('exit', (code) => {
      if (!this.closed && code !== 0) die(new Error(`exit code ${code}`));
    });
    return slot;
  }

  private onReply(slot: Slot, r: WorkerReply): void {
    const p = slot.current;
    if (p === null || p.id !== r.id) return;
    slot.current = null;
    if (r.ok) {
      if (r.rss > this.peakRss) this.peakRss = r.rss;
      p.resolve(r.outcome);
    } else {
      p.reject(new PoolTaskError(r.error));
    }
    this.pump();
  }

  /**
   * Hand queued tasks to free workers. A free worker first takes the oldest task of the
   * instrument-day it ran last (its footer cache already holds those files' footers), else the
   * oldest task: fewer footer reads, same results (windows are independent).
   */
  private pump(): void {
    for (const slot of this.slots) {
      if (slot.current !== null || this.queue.length === 0) continue;
      let i = slot.last === null ? -1 : this.queue.findIndex((p) => p.affinity === slot.last);
      if (i < 0) i = 0;
      const [next] = this.queue.splice(i, 1);
      if (next === undefined) return;
      slot.current = next;
      slot.last = next.affinity;
      slot.worker.postMessage({ type: 'run', id: next.id, task: next.task });
    }
  }

  /** Run one window in a worker. Rejects with a PoolTaskError naming the window. */
  run(task: WindowTask): Promise<WindowOutcome> {
    if (this.closed) return Promise.reject(new Error('the window pool is closed'));
    if (this.entry !== null && this.slots.length === 0)
      return Promise.reject(new Error('the window pool has no worker left'));
    return new Promise((resolve, reject) => {
      const w = task.window;
      const affinity = `${w.instrument_key}|${utcDayOf(BigInt(w.start_ns))}`;
      this.queue.push({ id: this.nextId++, task, affinity, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.started.catch(() => undefined);
    for (const p of this.queue.splice(0)) p.reject(new Error('the window pool was closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
