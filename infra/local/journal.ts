/**
 * An append-only JSON-lines journal: the durable half of the embedded (no-cloud) stores.
 *
 * - One record per line, encoded with `taggedStringify` (exact bigints, see infra/firestore/codec.ts).
 * - `append()` resolves only after the line has been handed to the kernel with write(2) (and, with
 *   `fsync: true`, after fdatasync), so a crash of this process after the promise resolves never
 *   loses it. Concurrent appends are group-committed: while one write is in flight the next lines
 *   queue up and go out together in one write.
 * - Replay on open streams the file line by line. A last line without its newline is a write torn
 *   by a crash: if it does not parse it is skipped with a warning and cut off the file; any other
 *   bad line is an error naming the file and line number.
 * - A `<file>.lock` holding our pid keeps a second process on this machine from writing the same
 *   journal (a lock whose process is gone is stale and taken over). It is advisory: processes in
 *   different PID namespaces sharing one folder are not detected.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { taggedParse, taggedStringify } from '../firestore/codec.ts';

export interface JournalOptions {
  /** fdatasync after every group commit: survives power loss too, at a cost (default false). */
  fsync?: boolean;
  /** Where warnings go (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * Asked once after replay with the number of records replayed: return the records of a snapshot
 * of the live state to rewrite the journal as that snapshot (compaction), or null to keep it.
 */
export type SnapshotFn = (replayed: number) => Iterable<unknown> | null;

/** Called for each journal record during replay; `where` is e.g. `orders.jsonl line 12`. */
export type ReplayFn = (record: unknown, where: string) => void;

export class JournalError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'JournalError';
  }
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

const NEWLINE = 0x0a;

export class Journal {
  readonly path: string;
  /** Lines replayed at open. */
  readonly replayed: number;
  private fh: FileHandle | null;
  private readonly fsync: boolean;
  private queue: string[] = [];
  private enqueued = 0;
  private written = 0;
  private writing = false;
  private waiters: Waiter[] = [];
  private failed: Error | null = null;
  private readonly lockPath: string;

  private constructor(path: string, fh: FileHandle, replayed: number, fsync: boolean) {
    this.path = path;
    this.fh = fh;
    this.replayed = replayed;
    this.fsync = fsync;
    this.lockPath = `${path}.lock`;
  }

  /** Lock, replay every record through `replay`, then open for appending. */
  static async open(
    path: string,
    replay: ReplayFn,
    opts: JournalOptions & { snapshot?: SnapshotFn } = {},
  ): Promise<Journal> {
    const warn = opts.warn ?? ((m: string) => console.warn(m));
    await mkdir(dirname(path), { recursive: true });
    await acquireLock(`${path}.lock`);
    try {
      const replayed = await replayFile(path, replay, warn);
      const snapshot = opts.snapshot?.(replayed);
      if (snapshot) await rewriteFile(path, snapshot);
      const fh = await open(path, 'a');
      return new Journal(path, fh, replayed, opts.fsync ?? false);
    } catch (err) {
      await releaseLock(`${path}.lock`);
      throw err;
    }
  }

  /** The first write error, after which the journal refuses further appends. */
  get failure(): Error | null {
    return this.failed;
  }

  /** Append one record; resolves when it is written (see module doc). */
  append(record: unknown): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.fh) return Promise.reject(new JournalError(`${this.path} is closed`));
    this.queue.push(`${taggedStringify(record)}\n`);
    const seq = ++this.enqueued;
    const p = this.waitFor(seq);
    if (!this.writing) void this.drain();
    return p;
  }

  /** Resolves once every record appended so far is written. */
  flushed(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return this.waitFor(this.enqueued);
  }

  async close(): Promise<void> {
    if (!this.fh) return;
    try {
      await this.flushed();
    } finally {
      const fh = this.fh;
      this.fh = null;
      await fh.close();
      await releaseLock(this.lockPath);
    }
  }

  private waitFor(seq: number): Promise<void> {
    if (seq <= this.written) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && this.fh) {
        const batch = this.queue;
        const upTo = this.enqueued;
        this.queue = [];
        const buf = Buffer.from(batch.join(''), 'utf8');
        let off = 0;
        while (off < buf.length) {
          const { bytesWritten } = await this.fh.write(buf, off, buf.length - off);
          off += bytesWritten;
        }
        if (this.fsync) await this.fh.datasync();
        this.written = upTo;
        const done = this.waiters.filter((w) => w.seq <= upTo);
        this.waiters = this.waiters.filter((w) => w.seq > upTo);
        for (const w of done) w.resolve();
      }
    } catch (err) {
      this.failed = new JournalError(`writing ${this.path} failed: ${(err as Error).message}`, {
        cause: err,
      });
      for (const w of this.waiters) w.reject(this.failed);
      this.waiters = [];
      this.queue = [];
    } finally {
      this.writing = false;
    }
  }
}

/**
 * Replace the journal with `records`, crash-safely: write `<file>.compact`, fsync it, rename it
 * over the journal, fsync the folder. A crash at any point leaves either the old or the new file.
 */
async function rewriteFile(path: string, records: Iterable<unknown>): Promise<void> {
  const tmp = `${path}.compact`;
  const fh = await open(tmp, 'w');
  try {
    let chunk: string[] = [];
    let size = 0;
    for (const rec of records) {
      const line = `${taggedStringify(rec)}\n`;
      chunk.push(line);
      size += line.length;
      if (size >= 1 << 20) {
        await fh.writeFile(chunk.join(''));
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length) await fh.writeFile(chunk.join(''));
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Lock files this process holds (a lock naming our own pid that is not here is stale). */
const heldLocks = new Set<string>();

async function acquireLock(lockPath: string): Promise<void> {
  if (heldLocks.has(lockPath)) {
    throw new JournalError(`${lockPath}: the journal is already open in this process (open twice?)`);
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(lockPath);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      // Our own pid in a lock we do not hold: a previous run with the same pid (PID 1 in a container).
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new JournalError(`${lockPath}: the journal is already open in process ${holder}`);
      }
      await rm(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new JournalError(`${lockPath}: could not take the lock`);
}

async function releaseLock(lockPath: string): Promise<void> {
  heldLocks.delete(lockPath);
  await rm(lockPath, { force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stream the journal, calling `replay` per line; returns the number of records replayed. */
async function replayFile(path: string, replay: ReplayFn, warn: (m: string) => void): Promise<number> {
  const name = basename(path);
  let lineNo = 0;
  let count = 0;
  let offset = 0; // bytes of complete lines consumed so far
  let pending: Buffer[] = [];
  const handle = (line: Buffer) => {
    lineNo++;
    const text = line.toString('utf8');
    if (text.trim() === '') return;
    const where = `${name} line ${lineNo}`;
    let record: unknown;
    try {
      record = taggedParse(text);
    } catch (err) {
      throw new JournalError(`${where}: corrupt record (${(err as Error).message})`, { cause: err });
    }
    try {
      replay(record, where);
    } catch (err) {
      const msg = (err as Error).message;
      throw new JournalError(msg.includes(where) ? msg : `${where}: ${msg}`, { cause: err });
    }
    count++;
  };

  try {
    for await (const chunk of createReadStream(path)) {
      let buf = chunk as Buffer;
      let nl = buf.indexOf(NEWLINE);
      while (nl >= 0) {
        const line = pending.length ? Buffer.concat([...pending, buf.subarray(0, nl)]) : buf.subarray(0, nl);
        pending = [];
        offset += line.length + 1;
        handle(line);
        buf = buf.subarray(nl + 1);
        nl = buf.indexOf(NEWLINE);
      }
      if (buf.length) pending.push(Buffer.from(buf));
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }

  if (pending.length) {
    // The last line has no newline: a write cut short by a crash, or a complete record whose
    // newline was cut. Only the former is unparseable.
    const tail = Buffer.concat(pending);
    let complete = true;
    try {
      taggedParse(tail.toString('utf8'));
    } catch {
      complete = false;
    }
    if (complete) {
      handle(tail);
      await writeFile(path, '\n', { flag: 'a' });
    } else {
      warn(
        `WARNING ${name} line ${lineNo + 1}: skipped a torn last record (${tail.length} bytes, no newline) ` +
          `left by a crash during a write; cutting it off the journal`,
      );
      await truncate(path, offset);
    }
  }
  return count;
}
