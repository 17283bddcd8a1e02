/**
 * The local TWS against bytes no TWS API client would send, over a plain TCP socket: a wrong
 * greeting, an unsupported version range, messages before START_API, undecodable fields. The server
 * answers as TWS does (or closes the socket) and keeps serving.
 */
import { spawn } from 'node:child_process';
import { type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalTws, startLocalTws } from '../../../dev/local-tws/index.ts';
import { encodeFrame, FrameReader, type Incoming } from '../../../dev/local-tws/wire.ts';

/** A raw connection: sends bytes, collects the server's frames (after its version frame), sees the close. */
class Raw {
  readonly frames: string[][] = [];
  closed = false;
  private readonly reader = new FrameReader();
  private constructor(readonly socket: Socket) {
    // The server's frames are read with the client-side framing: skip the API\0 check by greeting it.
    this.reader.push(Buffer.from('API\0\0\0\0\x04v176', 'latin1'));
    socket.on('data', (b: Buffer) => {
      for (const f of this.reader.push(b) as Incoming[]) if (f.kind === 'message') this.frames.push(f.fields);
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static open(tws: LocalTws): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = tcpConnect({ host: tws.host, port: tws.port }, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }

  hello(range: string): void {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(range.length, 0);
    this.socket.write(Buffer.concat([Buffer.from('API\0', 'latin1'), len, Buffer.from(range)]));
  }

  send(fields: Array<string | number>): void {
    this.socket.write(encodeFrame(fields));
  }

  async until(pred: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!pred()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}: ${JSON.stringify(this.frames)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe('local TWS: raw bytes', () => {
  let tws: LocalTws;
  beforeAll(async () => {
    tws = await startLocalTws({ autoTick: false });
  });
  afterAll(async () => {
    await tws.stop();
  });

  it('closes a connection that does not greet with API\\0', async () => {
    const r = await Raw.open(tws);
    r.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await r.until(() => r.closed, 'close');
  });

  it('answers an unsupported version range with its version and closes', async () => {
    const r = await Raw.open(tws);
    r.hello('v200..210');
    await r.until(() => r.closed, 'close');
    expect(r.frames[0]?.[0]).toBe('176');
  });

  it('closes a connection that sends a request before START_API', async () => {
    const r = await Raw.open(tws);
    r.hello('v100..176');
    await r.until(() => r.frames.length === 1, 'version');
    r.send([49, 1]);
    await r.until(() => r.closed, 'close');
  });

  it('answers undecodable fields with 321 naming them, and keeps the connection', async () => {
    const r = await Raw.open(tws);
    r.hello('v100..176');
    r.send([71, 2, 42, '']);
    await r.until(() => r.frames.some((f) => f[0] === '9'), 'nextValidId');
    r.send(['x1']);
    r.send([3, 'seven']);
    r.send([3, 7, 0, 'SPY', 'STK', '', '', '', '', 'SMART', '', 'USD', '', '', '', '', 'BUY', 'lots', 'MKT']);
    r.send([8, 1, 1]);
    await r.until(() => r.frames.filter((f) => f[0] === '9').length === 2, 'nextValidId after the errors');
    const errors = r.frames.filter((f) => f[0] === '4' && f[3] === '321').map((f) => f[4]);
    expect(errors).toEqual([
      `Error validating request.-'msgId' : cause - "x1" is not an integer`,
      `Error validating request.-'orderId' : cause - "seven" is not an integer`,
      `Error validating request.-'totalQuantity' : cause - "lots" is not a number`,
    ]);
    expect(r.closed).toBe(false);
    expect(tws.unhandledMessages).toEqual([]);
    r.send([20, 1, 2]);
    await r.until(() => tws.unhandledMessages.length === 1, 'counted as unhandled');
    expect(tws.unhandledMessages).toEqual(['MSG_20']);
    r.socket.destroy();
  });
});

describe('npm run local-tws', () => {
  it('starts, prints where it listens, serves, and stops on SIGTERM; refuses production', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'dev/local-tws/main.ts', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    });
    const info = JSON.parse(line) as { localTws: string; port: number; serverVersion: number };
    expect(info).toMatchObject({ localTws: 'listening', serverVersion: 176, account: 'DU1234567' });
    const r = await Raw.open({ host: '127.0.0.1', port: info.port } as LocalTws);
    r.hello('v100..193');
    await r.until(() => r.frames.length === 1, 'version');
    r.socket.destroy();
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);

    const prod = spawn(process.execPath, ['--import', 'tsx', 'dev/local-tws/main.ts', '--port', '0'], {
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    prod.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    const prodCode = await new Promise<number | null>((resolve) => prod.once('exit', (c) => resolve(c)));
    expect(prodCode).toBe(2);
    expect(err).toMatch(/never starts in a production process/);
  });
});
