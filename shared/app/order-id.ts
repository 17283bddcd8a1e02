/**
 * Deterministic ids derived from the operation_id (the idempotency key): a redelivered or retried
 * instruction can never make a second order id. `order_id = "ord_" + the first 32 hex digits
 * (128 bits) of SHA-256(operation_id as UTF-8)`. SHA-256 is implemented here (FIPS 180-4) so the
 * core stays free of Node built-ins; a test checks it against node:crypto.
 */

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** Message schedule, reused by every call (the hash is synchronous, so calls cannot overlap). */
const W = new Uint32Array(64);
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** SHA-256 of a byte array, as 64 lowercase hex digits. */
export function sha256Hex(data: Uint8Array): string {
  const n = data.length;
  const blocks = (n + 9 + 63) >>> 6;
  let h0 = H0[0] as number;
  let h1 = H0[1] as number;
  let h2 = H0[2] as number;
  let h3 = H0[3] as number;
  let h4 = H0[4] as number;
  let h5 = H0[5] as number;
  let h6 = H0[6] as number;
  let h7 = H0[7] as number;
  const w = W;
  for (let b = 0; b < blocks; b++) {
    const off = b << 6;
    // Big-endian words of the padded message: data, 0x80, zeros, 64-bit bit length.
    for (let i = 0; i < 16; i++) {
      let word = 0;
      for (let j = 0; j < 4; j++) {
        const p = off + (i << 2) + j;
        const byte = p < n ? (data[p] as number) : p === n ? 0x80 : 0;
        word = (word << 8) | byte;
      }
      w[i] = word >>> 0;
    }
    if (b === blocks - 1) {
      w[14] = Math.floor(n / 0x20000000) >>> 0; // (n * 8) / 2^32
      w[15] = (n << 3) >>> 0;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15] as number;
      const y = w[i - 2] as number;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = ((w[i - 16] as number) + s0 + (w[i - 7] as number) + s1) | 0;
    }
    let a = h0;
    let bb = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + (K[i] as number) + (w[i] as number)) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const maj = (a & bb) ^ (a & c) ^ (bb & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = bb;
      bb = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  return (
    hexWord(h0) +
    hexWord(h1) +
    hexWord(h2) +
    hexWord(h3) +
    hexWord(h4) +
    hexWord(h5) +
    hexWord(h6) +
    hexWord(h7)
  );
}

function hexWord(x: number): string {
  return (
    (HEX[(x >>> 24) & 0xff] as string) +
    (HEX[(x >>> 16) & 0xff] as string) +
    (HEX[(x >>> 8) & 0xff] as string) +
    (HEX[x & 0xff] as string)
  );
}

const utf8 = new TextEncoder();

/** SHA-256 of a string's UTF-8 bytes, as 64 lowercase hex digits (the pure implementation above). */
export function sha256HexOfText(text: string): string {
  return sha256Hex(utf8.encode(text));
}

/** A SHA-256 implementation: the hex digest of a string's UTF-8 bytes. */
export type Sha256Hex = (text: string) => string;

/**
 * The order id function over a given SHA-256 (the same ids, whichever implementation): the
 * composition root injects node:crypto's native one (`infra/compose.ts`), which the pure core
 * cannot import; `orderIdFor` is this over the pure implementation.
 */
export function orderIdWith(sha256: Sha256Hex): (operationId: string) => string {
  return (operationId) => `ord_${sha256(operationId).slice(0, 32)}`;
}

/** The order id of an operation: `ord_` + 128 bits of SHA-256(operation_id). */
export const orderIdFor: (operationId: string) => string = orderIdWith(sha256HexOfText);
