import { afterEach, describe, expect, it } from 'vitest';
import type { StreamKind } from '../../../infra/ccxt/diagnostics.ts';
import { streamDefaults, WatchSupervisor } from '../../../infra/ccxt/streams.ts';

/** A fake ccxt watch method: each call returns a promise the test resolves or rejects. */
class FakeWatch {
  calls = 0;
  private pending: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  call = (): Promise<unknown> => {
    this.calls += 1;
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  };
  push(data: unknown): void {
    this.pending.shift()?.resolve(data);
  }
  fail(message: string): void {
    this.pending.shift()?.reject(new Error(message));
  }
  failAll(message: string): void {
    while (this.pending.length > 0) this.fail(message);
  }
}

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

function setup(opts: { socketsOpen?: () => boolean } = {}) {
  const log: string[] = [];
  const data: unknown[] = [];
  let open = true;
  const sup = new WatchSupervisor(
    {
      socketsOpen: opts.socketsOpen ?? (() => open),
      onStreamUp: (s: StreamKind) => log.push(`${s}:up`),
      onStreamDown: (s: StreamKind, reason: string) => log.push(`${s}:down:${reason}`),
      onReconnect: (loop, attempt) => log.push(`reconnect:${loop}:${attempt}`),
      onHandlerError: (loop) => log.push(`handler-error:${loop}`),
      random: () => 0.5,
    },
    streamDefaults({ settleMs: 20, reconnectInitialDelayMs: 10, reconnectMaxDelayMs: 40 }),
  );
  return { sup, log, data, setOpen: (v: boolean) => (open = v) };
}

let stopper: (() => Promise<void>) | null = null;
afterEach(async () => {
  await stopper?.();
  stopper = null;
});

describe('WatchSupervisor', () => {
  it('a stream is up when its loops deliver, down when one fails, up again after the re-subscribe', async () => {
    const { sup, log, data } = setup();
    const orders = new FakeWatch();
    const trades = new FakeWatch();
    sup.add({ name: 'orders', stream: 'private', call: orders.call, onData: (d) => data.push(d) });
    sup.add({ name: 'trades', stream: 'private', call: trades.call, onData: (d) => data.push(d) });
    stopper = () =>
      sup.stop(async () => {
        orders.failAll('closed');
        trades.failAll('closed');
      });
    expect(sup.state('private')).toBe('connecting');
    expect(sup.state('public')).toBe('idle');
    orders.push(['o1']);
    await tick();
    expect(log).toEqual([]); // trades has not settled yet
    trades.push(['t1']);
    await tick();
    expect(log).toEqual(['private:up']);
    expect(data).toEqual([['o1'], ['t1']]);
    expect(sup.state('private')).toBe('up');

    orders.fail('connection closed');
    await tick();
    expect(log.slice(1)).toEqual(['private:down:orders: Error: connection closed', 'reconnect:orders:1']);
    await tick(30);
    expect(orders.calls).toBe(3); // re-subscribed after the back-off
    orders.push(['o2']);
    await tick();
    expect(log.at(-1)).toBe('private:up');
    expect(data.at(-1)).toEqual(['o2']);
  });

  it('a quiet subscription with open sockets counts as up after settleMs', async () => {
    const { sup, log, setOpen } = setup();
    setOpen(false);
    const w = new FakeWatch();
    sup.add({ name: 'book', stream: 'public', call: w.call, onData: () => undefined });
    stopper = () => sup.stop(async () => w.failAll('closed'));
    await tick(50);
    expect(log).toEqual([]);
    setOpen(true);
    await tick(40);
    expect(log).toEqual(['public:up']);
  });

  it('a stream that never came up reports down on its first failure, and backs off harder each time', async () => {
    const { sup, log } = setup({ socketsOpen: () => false });
    const w = new FakeWatch();
    sup.add({ name: 'orders', stream: 'private', call: w.call, onData: () => undefined });
    stopper = () => sup.stop(async () => w.failAll('closed'));
    w.fail('ECONNREFUSED');
    await tick();
    expect(log).toEqual(['private:down:orders: Error: ECONNREFUSED', 'reconnect:orders:1']);
    await tick(20);
    w.fail('ECONNREFUSED');
    await tick();
    expect(log.at(-1)).toBe('reconnect:orders:2');
    expect(log.filter((l) => l.includes('down'))).toHaveLength(1);
  });

  it('a handler error is reported and the loop goes on', async () => {
    const { sup, log } = setup();
    const w = new FakeWatch();
    sup.add({
      name: 'orders',
      stream: 'private',
      call: w.call,
      onData: () => {
        throw new Error('bad payload');
      },
    });
    stopper = () => sup.stop(async () => w.failAll('closed'));
    w.push([1]);
    await tick();
    expect(log).toEqual(['private:up', 'handler-error:orders']);
    expect(w.calls).toBe(2);
  });

  it('stop ends every loop, even one sleeping in its back-off', async () => {
    const { sup } = setup();
    const w = new FakeWatch();
    sup.add({ name: 'orders', stream: 'private', call: w.call, onData: () => undefined });
    w.fail('x');
    await tick();
    const started = Date.now();
    await sup.stop(async () => w.failAll('closed'));
    expect(Date.now() - started).toBeLessThan(100);
    sup.add({ name: 'late', stream: 'public', call: w.call, onData: () => undefined });
    expect(sup.has('late')).toBe(false);
  });
});
