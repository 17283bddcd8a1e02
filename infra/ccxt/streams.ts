/**
 * Supervised ccxt pro watch loops. A loop calls one `watch*` method again and again (ccxt pro
 * resolves each call with the updates since the previous one); when a call fails (the socket
 * dropped, the subscription was refused) the loop backs off and calls again, which makes ccxt open
 * a new connection and subscribe anew.
 *
 * Loops belong to a stream (`private`: orders and our trades; `public`: books and trade prints). A
 * stream is up when every one of its loops is up and down as soon as one fails; the supervisor
 * reports each transition once. A loop is up when its call resolved, or when the call has been
 * pending for `settleMs` with every ccxt WebSocket client open (a quiet, healthy subscription
 * resolves nothing until something happens).
 */
import type { StreamKind } from './diagnostics.ts';

export interface StreamOptions {
  /** First reconnect back-off (default 250 ms), doubling per failure. */
  reconnectInitialDelayMs?: number;
  /** Reconnect back-off cap (default 10,000 ms). */
  reconnectMaxDelayMs?: number;
  /** A pending watch call with open sockets counts as connected after this long (default 300 ms). */
  settleMs?: number;
  /** Start REST polling when the private stream has been down this long (default 5,000 ms). */
  pollAfterMs?: number;
  /** REST polling period while the private stream is down (default 2,000 ms). */
  pollIntervalMs?: number;
  /** The gap fill asks for our trades since the last one seen minus this margin (default 60,000 ms). */
  gapMarginMs?: number;
  /** Levels per side in `book` events (default 20). */
  bookDepth?: number;
  /** `watch()` waits at most this long for the private stream before it returns (default 5,000 ms). */
  readyTimeoutMs?: number;
  /** Run the private loops (default true). */
  private?: boolean;
  /** Run the public loops (default true). */
  public?: boolean;
}

export function streamDefaults(o: StreamOptions = {}): Required<StreamOptions> {
  return {
    reconnectInitialDelayMs: o.reconnectInitialDelayMs ?? 250,
    reconnectMaxDelayMs: o.reconnectMaxDelayMs ?? 10_000,
    settleMs: o.settleMs ?? 300,
    pollAfterMs: o.pollAfterMs ?? 5_000,
    pollIntervalMs: o.pollIntervalMs ?? 2_000,
    gapMarginMs: o.gapMarginMs ?? 60_000,
    bookDepth: o.bookDepth ?? 20,
    readyTimeoutMs: o.readyTimeoutMs ?? 5_000,
    private: o.private ?? true,
    public: o.public ?? true,
  };
}

export interface LoopSpec {
  name: string;
  stream: StreamKind;
  call(): Promise<unknown>;
  onData(data: unknown): void;
}

export interface SupervisorHooks {
  /** Whether every WebSocket the exchange holds is open (false when it holds none). */
  socketsOpen(): boolean;
  onStreamUp(stream: StreamKind): void;
  onStreamDown(stream: StreamKind, reason: string): void;
  onReconnect(loop: string, attempt: number, delayMs: number, message: string): void;
  /** An onData handler threw (a bug or a payload we cannot read): reported, the loop goes on. */
  onHandlerError(loop: string, err: unknown): void;
  random(): number;
}

interface LoopState {
  spec: LoopSpec;
  up: boolean;
  done: Promise<void>;
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
}

export class WatchSupervisor {
  private readonly loops = new Map<string, LoopState>();
  private readonly streamState: Record<StreamKind, 'connecting' | 'up' | 'down'> = {
    private: 'connecting',
    public: 'connecting',
  };
  private stopped = false;
  private readonly sleepers = new Set<() => void>();

  constructor(
    private readonly hooks: SupervisorHooks,
    private readonly options: Required<StreamOptions>,
  ) {}

  has(name: string): boolean {
    return this.loops.has(name);
  }

  /** 'idle' when the stream has no loop; 'connecting' until it first comes up or fails. */
  state(stream: StreamKind): 'up' | 'down' | 'connecting' | 'idle' {
    const any = [...this.loops.values()].some((l) => l.spec.stream === stream);
    if (!any) return 'idle';
    return this.streamState[stream];
  }

  /** Start a loop (no-op when one with that name runs). */
  add(spec: LoopSpec): void {
    if (this.stopped || this.loops.has(spec.name)) return;
    const state: LoopState = { spec, up: false, done: Promise.resolve() };
    this.loops.set(spec.name, state);
    state.done = this.run(state);
  }

  /** Stop every loop; resolves when they have all returned (after the caller closed the sockets). */
  async stop(closeSockets: () => Promise<void>): Promise<void> {
    this.stopped = true;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
    await closeSockets();
    await Promise.all([...this.loops.values()].map((l) => l.done));
  }

  private reconnectDelay(failures: number): number {
    const base = Math.min(
      this.options.reconnectMaxDelayMs,
      this.options.reconnectInitialDelayMs * 2 ** Math.max(0, failures - 1),
    );
    return Math.round(base / 2 + (this.hooks.random() * base) / 2);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  private setUp(loop: LoopState, up: boolean, reason = ''): void {
    loop.up = up;
    const stream = loop.spec.stream;
    const all = [...this.loops.values()].filter((l) => l.spec.stream === stream);
    const nowUp = all.length > 0 && all.every((l) => l.up);
    const current = this.streamState[stream];
    if (nowUp && current !== 'up') {
      this.streamState[stream] = 'up';
      this.hooks.onStreamUp(stream);
    } else if (!nowUp && !up && current !== 'down') {
      // A loop that was up failed, or the stream failed before it ever came up.
      this.streamState[stream] = 'down';
      this.hooks.onStreamDown(stream, `${loop.spec.name}: ${reason}`);
    }
  }

  private async run(loop: LoopState): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let settled = false;
      const probe = setInterval(() => {
        if (!settled && !this.stopped && this.hooks.socketsOpen()) this.setUp(loop, true);
      }, this.options.settleMs);
      try {
        const data = await loop.spec.call();
        settled = true;
        if (this.stopped) break;
        failures = 0;
        this.setUp(loop, true);
        try {
          loop.spec.onData(data);
        } catch (err) {
          this.hooks.onHandlerError(loop.spec.name, err);
        }
      } catch (err) {
        settled = true;
        if (this.stopped) break;
        failures += 1;
        const message = messageOf(err);
        this.setUp(loop, false, message);
        const delay = this.reconnectDelay(failures);
        this.hooks.onReconnect(loop.spec.name, failures, delay, message);
        await this.sleep(delay);
      } finally {
        clearInterval(probe);
      }
    }
  }
}
