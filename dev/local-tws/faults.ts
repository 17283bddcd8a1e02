/**
 * Fault injection for the local TWS. Every fault is deterministic (counted orders, fills or
 * messages, never a random draw) and observable (`stats`).
 */

export interface DisconnectOnPlaceOrderOptions {
  /**
   * Execute the order before dropping the socket (default false: the order is never seen). With
   * `execute: true` the order is accepted (and fills if marketable) but none of its messages reach
   * the client: the "crash between submit and ack" case, found again by `reqOpenOrders` or
   * `reqExecutions` after reconnecting.
   */
  execute?: boolean | undefined;
  /**
   * With `execute: true`: once accepted, the order is cancelled at once, as the account's operator
   * would in TWS, while its client is away (what remains open is cancelled; a marketable order may
   * have filled first). Found again only by `reqCompletedOrders` (and `reqExecutions` for its fills).
   */
  cancelWhileAway?: boolean | undefined;
}

export interface DuplicateOptions {
  /** Send `execDetails` twice (default true). */
  execDetails?: boolean | undefined;
  /** Send `commissionReport` twice (default true). */
  commissionReport?: boolean | undefined;
}

export interface TwsFaultStats {
  /** Sockets dropped by `disconnectAll` or `disconnectOnPlaceOrder`. */
  disconnected: number;
  /** placeOrder messages that dropped the connection. */
  droppedOnPlaceOrder: number;
  /** …of which the order was executed. */
  droppedOnPlaceOrderExecuted: number;
  /** Messages sent a second time by `duplicateExecutions`. */
  duplicatedMessages: number;
  /** Fills whose commissionReport was sent before the execDetails. */
  reorderedFills: number;
  /** Messages refused with error 100 (the rate limit or `pacingViolationNext`). */
  pacingViolations: number;
  /** Orders refused by `rejectNextOrder`. */
  rejectedOrders: number;
  /** Connectivity messages (1100 / 1101 / 1102) broadcast. */
  connectivityMessages: number;
}

/** What the server does for a fault (attached by the server). */
export interface TwsFaultHooks {
  disconnectAll(): number;
  broadcastError(code: number, message: string): number;
  releaseCommissions(): number;
}

export class TwsFaults {
  private readonly counters: TwsFaultStats = {
    disconnected: 0,
    droppedOnPlaceOrder: 0,
    droppedOnPlaceOrderExecuted: 0,
    duplicatedMessages: 0,
    reorderedFills: 0,
    pacingViolations: 0,
    rejectedOrders: 0,
    connectivityMessages: 0,
  };
  private dropOnPlace: Array<{ execute: boolean; cancel: boolean }> = [];
  private duplicates: Array<{ execDetails: boolean; commissionReport: boolean }> = [];
  private reorders = 0;
  private pacing = 0;
  private rejects: string[] = [];
  private withhold = 0;
  private lost = false;
  private hooks: TwsFaultHooks | null = null;

  /** @internal the server wires the actions here. */
  attach(hooks: TwsFaultHooks): void {
    this.hooks = hooks;
  }

  /** Close every API connection abruptly. Returns how many were closed. */
  disconnectAll(): number {
    const n = this.hooks?.disconnectAll() ?? 0;
    this.counters.disconnected += n;
    return n;
  }

  /** Drop the connection when the next `n` placeOrder messages arrive. */
  disconnectOnPlaceOrder(n = 1, opts: DisconnectOnPlaceOrderOptions = {}): void {
    for (let i = 0; i < n; i++) {
      this.dropOnPlace.push({ execute: opts.execute ?? false, cancel: opts.cancelWhileAway ?? false });
    }
  }

  /** Send the execDetails and/or commissionReport of the next `n` fills twice. */
  duplicateExecutions(n = 1, opts: DuplicateOptions = {}): void {
    for (let i = 0; i < n; i++) {
      this.duplicates.push({
        execDetails: opts.execDetails ?? true,
        commissionReport: opts.commissionReport ?? true,
      });
    }
  }

  /** Send the commissionReport of the next `n` fills before their execDetails. */
  reorderExecutions(n = 1): void {
    this.reorders += n;
  }

  /** Refuse the next `n` incoming messages with error 100, as if the rate limit were exceeded. */
  pacingViolationNext(n = 1): void {
    this.pacing += n;
  }

  /**
   * Hold back the commissionReport of the next `n` fills, live and in `reqExecutions` answers, until
   * `releaseCommissionReports()` (their execDetails go out as usual).
   */
  withholdCommissionReports(n = 1): void {
    this.withhold += n;
  }

  /** Send the held-back commissionReports to their owners (if connected). Returns how many were held. */
  releaseCommissionReports(): number {
    return this.hooks?.releaseCommissions() ?? 0;
  }

  /** Reject the next order with error 201 `Order rejected - reason:<reason>` and status Inactive. */
  rejectNextOrder(reason = 'The order was rejected by the local TWS.', n = 1): void {
    for (let i = 0; i < n; i++) this.rejects.push(reason);
  }

  /**
   * TWS loses its connection to IB: error 1100 to every client; orders are refused (error 201)
   * until `connectivityRestored`.
   */
  connectivityLost(): void {
    this.lost = true;
    this.counters.connectivityMessages +=
      this.hooks?.broadcastError(1100, 'Connectivity between IB and Trader Workstation has been lost.') ?? 0;
  }

  /** Error 1102 (data maintained) or, with `dataLost`, 1101 (subscriptions must be renewed). */
  connectivityRestored(opts: { dataLost?: boolean } = {}): void {
    this.lost = false;
    const msg =
      opts.dataLost === true
        ? ([1101, 'Connectivity between IB and Trader Workstation has been restored - data lost.'] as const)
        : ([
            1102,
            'Connectivity between IB and Trader Workstation has been restored - data maintained.',
          ] as const);
    this.counters.connectivityMessages += this.hooks?.broadcastError(msg[0], msg[1]) ?? 0;
  }

  get connectivityLostNow(): boolean {
    return this.lost;
  }

  get stats(): Readonly<TwsFaultStats> {
    return { ...this.counters };
  }

  /** Disarm everything (the counters stay). */
  reset(): void {
    this.dropOnPlace = [];
    this.duplicates = [];
    this.reorders = 0;
    this.pacing = 0;
    this.rejects = [];
    this.lost = false;
    this.withhold = 0;
  }

  // ---- consumed by the server ---------------------------------------------------------------

  /** @internal */
  takeDropOnPlace(): { execute: boolean; cancel: boolean } | null {
    const d = this.dropOnPlace.shift() ?? null;
    if (d !== null) {
      this.counters.droppedOnPlaceOrder++;
      if (d.execute) this.counters.droppedOnPlaceOrderExecuted++;
    }
    return d;
  }

  /** @internal the fault of one fill: duplicate and reorder flags. */
  takeFillFault(): { dupExec: boolean; dupCommission: boolean; reorder: boolean } {
    const d = this.duplicates.shift();
    const reorder = this.reorders > 0;
    if (reorder) {
      this.reorders--;
      this.counters.reorderedFills++;
    }
    const dupExec = d?.execDetails ?? false;
    const dupCommission = d?.commissionReport ?? false;
    this.counters.duplicatedMessages += (dupExec ? 1 : 0) + (dupCommission ? 1 : 0);
    return { dupExec, dupCommission, reorder };
  }

  /** @internal whether the commissionReport of this fill is held back. */
  takeWithhold(): boolean {
    if (this.withhold <= 0) return false;
    this.withhold--;
    return true;
  }

  /** @internal */
  takePacing(): boolean {
    if (this.pacing <= 0) return false;
    this.pacing--;
    return true;
  }

  /** @internal */
  takeReject(): string | null {
    const r = this.rejects.shift() ?? null;
    if (r !== null) this.counters.rejectedOrders++;
    return r;
  }

  /** @internal */
  count(what: 'pacingViolations' | 'disconnected'): void {
    this.counters[what]++;
  }
}
