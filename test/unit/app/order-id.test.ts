import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeOrderId, nodeSha256Hex } from '../../../infra/compose.ts';
import { orderIdFor, orderIdWith, sha256Hex, sha256HexOfText } from '../../../shared/app/order-id.ts';

const nodeHex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('order ids and SHA-256', () => {
  it('the pure SHA-256 equals node:crypto at every padding boundary and beyond', () => {
    for (let n = 0; n <= 300; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(sha256Hex(bytes)).toBe(nodeHex(bytes));
    }
  });

  it('the pure SHA-256 equals node:crypto on arbitrary text (UTF-8)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
        expect(sha256HexOfText(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
      }),
      { numRuns: 300 },
    );
  });

  it('the injected node:crypto hasher makes the very same order ids as the pure one', () => {
    for (const op of ['OP-1', '', 'a'.repeat(200), 'ünïcødé-🚀', 'x'.repeat(55), 'y'.repeat(64)]) {
      expect(nodeSha256Hex(op)).toBe(sha256HexOfText(op));
      expect(nodeOrderId(op)).toBe(orderIdFor(op));
      expect(orderIdWith(sha256HexOfText)(op)).toBe(orderIdFor(op));
    }
    expect(orderIdFor('OP-1')).toMatch(/^ord_[0-9a-f]{32}$/);
  });
});
