/**
 * The TWS API socket protocol as the server sees it: the V100+ handshake, length-prefixed frames of
 * \0-separated fields, the message ids in both directions, and a field reader for incoming
 * messages. Pure: no socket.
 *
 * Every frame is a 4-byte big-endian length followed by that many bytes: the fields, each ending in
 * \0. The client opens with `API\0`, then one frame holding `v<min>..<max>` (the protocol versions
 * it speaks); the server answers with a frame of two fields, its version and its connection time.
 */

/**
 * The protocol version the local TWS speaks: 176 (`BOND_ISSUERID`, TWS 10.19). High enough for
 * every modern message form the adapter uses (decimal sizes, `minSize`/`sizeIncrement` in contract
 * details, `timeZoneId`, the advanced-reject field of `error`, no version field in `openOrder`,
 * `orderStatus` and `execDetails`), below the protobuf forms @stoqey/ib 1.6.10 does not speak.
 */
export const TWS_SERVER_VERSION = 176;

/** The lowest client version accepted (the V100+ framing). */
export const MIN_CLIENT_VERSION = 100;

/** Messages the client sends (TWS API `OUT_MSG_ID`). */
export const OUT = {
  REQ_MKT_DATA: 1,
  CANCEL_MKT_DATA: 2,
  PLACE_ORDER: 3,
  CANCEL_ORDER: 4,
  REQ_OPEN_ORDERS: 5,
  REQ_ACCOUNT_DATA: 6,
  REQ_EXECUTIONS: 7,
  REQ_IDS: 8,
  REQ_CONTRACT_DATA: 9,
  REQ_AUTO_OPEN_ORDERS: 15,
  REQ_ALL_OPEN_ORDERS: 16,
  REQ_MANAGED_ACCTS: 17,
  REQ_CURRENT_TIME: 49,
  REQ_GLOBAL_CANCEL: 58,
  REQ_MARKET_DATA_TYPE: 59,
  REQ_POSITIONS: 61,
  REQ_ACCOUNT_SUMMARY: 62,
  CANCEL_ACCOUNT_SUMMARY: 63,
  CANCEL_POSITIONS: 64,
  START_API: 71,
  REQ_COMPLETED_ORDERS: 99,
} as const;

/** Messages the server sends (TWS API `IN_MSG_ID`). */
export const IN = {
  TICK_PRICE: 1,
  TICK_SIZE: 2,
  ORDER_STATUS: 3,
  ERR_MSG: 4,
  OPEN_ORDER: 5,
  NEXT_VALID_ID: 9,
  CONTRACT_DATA: 10,
  EXECUTION_DATA: 11,
  MANAGED_ACCTS: 15,
  CURRENT_TIME: 49,
  CONTRACT_DATA_END: 52,
  OPEN_ORDER_END: 53,
  EXECUTION_DATA_END: 55,
  TICK_SNAPSHOT_END: 57,
  MARKET_DATA_TYPE: 58,
  COMMISSION_REPORT: 59,
  POSITION: 61,
  POSITION_END: 62,
  ACCOUNT_SUMMARY: 63,
  ACCOUNT_SUMMARY_END: 64,
  COMPLETED_ORDER: 101,
  COMPLETED_ORDERS_END: 102,
} as const;

const OUT_NAMES = new Map<number, string>(Object.entries(OUT).map(([k, v]) => [v, k]));

/** The name of an incoming message id (`PLACE_ORDER`), or `MSG_<id>` for one not implemented. */
export function outName(id: number): string {
  return OUT_NAMES.get(id) ?? `MSG_${id}`;
}

/** A field as written: numbers and strings as text, booleans as 1/0, absent as the empty field. */
export type Field = string | number | boolean | null | undefined;

function fieldText(f: Field): string {
  if (f === null || f === undefined) return '';
  if (typeof f === 'boolean') return f ? '1' : '0';
  return String(f);
}

/** One frame: 4-byte big-endian length, then every field followed by \0. */
export function encodeFrame(fields: readonly Field[]): Buffer {
  const body = Buffer.from(fields.map((f) => `${fieldText(f)}\0`).join(''), 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

const API_PREFIX = Buffer.from('API\0', 'latin1');
/** A frame larger than this is a broken stream (the client's own limit). */
export const MAX_FRAME = 0xffffff;

/** What the reader found in the byte stream. */
export type Incoming =
  | { kind: 'hello'; minVersion: number; maxVersion: number }
  | { kind: 'message'; fields: string[] }
  | { kind: 'invalid'; reason: string };

/**
 * Cuts the client's byte stream into the handshake and then messages. Feed it every chunk; it
 * returns what is complete and keeps the rest.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  private greeted = false;

  push(chunk: Buffer): Incoming[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Incoming[] = [];
    if (!this.greeted) {
      if (this.buf.length < API_PREFIX.length) return out;
      if (!this.buf.subarray(0, API_PREFIX.length).equals(API_PREFIX)) {
        out.push({ kind: 'invalid', reason: 'the connection does not start with API\\0' });
        return out;
      }
      const frame = this.takeFrame(API_PREFIX.length);
      if (frame === null) return out;
      if (typeof frame === 'string') return [{ kind: 'invalid', reason: frame }];
      this.greeted = true;
      out.push(parseHello(frame.toString('utf8')));
    }
    for (;;) {
      const frame = this.takeFrame(0);
      if (frame === null) return out;
      if (typeof frame === 'string') {
        out.push({ kind: 'invalid', reason: frame });
        return out;
      }
      const fields = frame.toString('utf8').split('\0');
      // Every field ends in \0: the last split part is the empty rest.
      if (fields[fields.length - 1] === '') fields.pop();
      out.push({ kind: 'message', fields });
    }
  }

  private takeFrame(offset: number): Buffer | string | null {
    if (this.buf.length < offset + 4) return null;
    const size = this.buf.readUInt32BE(offset);
    if (size > MAX_FRAME) return `frame of ${size} bytes exceeds the limit of ${MAX_FRAME}`;
    if (this.buf.length < offset + 4 + size) return null;
    const frame = this.buf.subarray(offset + 4, offset + 4 + size);
    this.buf = this.buf.subarray(offset + 4 + size);
    return frame;
  }
}

/** `v100..193` or `v176` (with optional connect options after a space, ignored). */
export function parseHello(text: string): Incoming {
  const m = /^v(\d+)(?:\.\.(\d+))?/.exec(text.trim());
  if (m === null) return { kind: 'invalid', reason: `bad version string "${text}"` };
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  return { kind: 'hello', minVersion: min, maxVersion: max };
}

/** A wire decoding problem: the field and what is wrong with it. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'FieldError';
  }
}

/** Reads an incoming message's fields in order, by name (for clear errors). */
export class FieldReader {
  private i = 0;
  constructor(private readonly fields: readonly string[]) {}

  str(name: string): string {
    if (this.i >= this.fields.length) throw new FieldError(name, 'missing (message too short)');
    return this.fields[this.i++] ?? '';
  }

  /** An integer; the empty field is `fallback` (a missing one too when `fallback` is given). */
  int(name: string, fallback?: number): number {
    if (this.i >= this.fields.length && fallback !== undefined) return fallback;
    const s = this.str(name);
    if (s === '') {
      if (fallback === undefined) throw new FieldError(name, 'is empty');
      return fallback;
    }
    if (!/^-?\d+$/.test(s)) throw new FieldError(name, `"${s}" is not an integer`);
    return Number(s);
  }

  bool(name: string): boolean {
    const s = this.str(name);
    return s !== '' && s !== '0' && s.toLowerCase() !== 'false';
  }

  /** A decimal as text (commas removed); empty, or IB's "unset" values, give null. */
  decimal(name: string): string | null {
    const s = this.str(name).replaceAll(',', '');
    if (s === '' || s === '1.7976931348623157E308' || s === String(Number.MAX_VALUE)) return null;
    if (!/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(s)) throw new FieldError(name, `"${s}" is not a number`);
    return s;
  }

  skip(n: number): void {
    this.i += n;
  }

  get remaining(): number {
    return this.fields.length - this.i;
  }
}
