import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ID_RULES,
  type ClientIdExchange,
  ourClientIdOf,
  venueClientIdOf,
} from '../../../infra/ccxt/client-ids.ts';
import { orderIdFor } from '../../../shared/app/order-id.ts';

const EXCHANGES: ClientIdExchange[] = ['binance', 'binanceusdm', 'bybit', 'okx', 'deribit'];
const PARENT = orderIdFor('OP-12345'); // ord_ + 32 hex
const CHILD = `${PARENT}-t3`;

describe('venue client ids', () => {
  it('our order ids have the documented shape', () => {
    expect(PARENT).toMatch(/^ord_[0-9a-f]{32}$/);
    expect(PARENT).toHaveLength(36);
  });

  it('Binance, Bybit and Deribit take a parent id unchanged', () => {
    for (const ex of ['binance', 'binanceusdm', 'bybit', 'deribit'] as const) {
      expect(venueClientIdOf(ex, PARENT)).toEqual({ id: PARENT, form: 'identity' });
    }
  });

  it('OKX (alphanumeric, ≤ 32) gets the compact form, and it decodes back', () => {
    const v = venueClientIdOf('okx', PARENT);
    expect(v.form).toBe('compact');
    expect(v.id).toMatch(/^o[0-9A-Za-z]{22}$/);
    expect(v.id).toMatch(CLIENT_ID_RULES.okx.pattern);
    expect(ourClientIdOf(v.id)).toBe(PARENT);
  });

  it('algorithm children (40 characters) are compacted on Binance, Bybit and OKX, kept on Deribit', () => {
    expect(CHILD).toHaveLength(39);
    for (const ex of ['binance', 'binanceusdm', 'bybit', 'okx'] as const) {
      const v = venueClientIdOf(ex, CHILD);
      expect(v.form).toBe('compact');
      expect(v.id).toBe(`${venueClientIdOf('okx', PARENT).id}t3`);
      expect(v.id).toMatch(CLIENT_ID_RULES[ex].pattern);
      expect(ourClientIdOf(v.id)).toBe(CHILD);
    }
    expect(venueClientIdOf('deribit', CHILD)).toEqual({ id: CHILD, form: 'identity' });
  });

  it('is deterministic: the same id always maps to the same venue id', () => {
    for (const ex of EXCHANGES) expect(venueClientIdOf(ex, CHILD)).toEqual(venueClientIdOf(ex, CHILD));
  });

  it('ids that fit neither way are hashed (deterministic, one-way)', () => {
    const odd = 'my order #1 with spaces and ünïcode that is far too long for most venues';
    for (const ex of EXCHANGES) {
      const v = venueClientIdOf(ex, odd);
      expect(v.id).toMatch(CLIENT_ID_RULES[ex].pattern);
      if (ex === 'deribit') continue; // ASCII only: still hashed (ü)
      expect(v.form).toBe('hashed');
    }
    const h = venueClientIdOf('okx', odd).id;
    const digest = createHash('sha256').update(odd).digest('hex').slice(0, 32);
    expect(h).toMatch(/^h[0-9A-Za-z]{22}$/);
    expect(h).toBe(venueClientIdOf('binance', odd).id);
    expect(digest).toHaveLength(32);
    expect(ourClientIdOf(h)).toBeNull();
    expect(ourClientIdOf(h, new Map([[h, odd]]))).toBe(odd);
  });

  it('an id that already looks like an encoded one is not passed through (no ambiguity)', () => {
    const tricky = venueClientIdOf('okx', PARENT).id; // o + 22 base62
    const v = venueClientIdOf('binance', tricky);
    expect(v.form).toBe('hashed');
  });

  it('foreign ids (orders placed by hand) come back unchanged', () => {
    expect(ourClientIdOf('web_abc123')).toBe('web_abc123');
    expect(ourClientIdOf(PARENT)).toBe(PARENT);
  });

  it('Binance rule: ^[.A-Z:/a-z0-9_-]{1,36}$; OKX: alphanumeric ≤ 32', () => {
    expect(venueClientIdOf('binance', 'A.b:c/d_e-f').form).toBe('identity');
    expect(venueClientIdOf('okx', 'A.b').form).toBe('hashed');
    expect(venueClientIdOf('okx', 'Abc123').form).toBe('identity');
    expect(venueClientIdOf('binance', 'x'.repeat(37)).form).toBe('hashed');
    expect(() => venueClientIdOf('binance', '')).toThrow(RangeError);
  });

  it('property: every id maps to a compliant id and our ids round-trip', () => {
    fc.assert(
      fc.property(fc.constantFrom(...EXCHANGES), fc.string({ minLength: 1, maxLength: 80 }), (ex, id) => {
        const v = venueClientIdOf(ex, id);
        expect(v.id).toMatch(CLIENT_ID_RULES[ex].pattern);
        expect(v.id.length).toBeLessThanOrEqual(CLIENT_ID_RULES[ex].maxLength);
      }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...EXCHANGES),
        fc.string({ minLength: 1, maxLength: 40 }),
        fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/)),
        (ex, op, suffix) => {
          const ours = suffix === null ? orderIdFor(op) : `${orderIdFor(op)}-${suffix}`;
          const v = venueClientIdOf(ex, ours);
          expect(v.form).not.toBe('hashed');
          expect(ourClientIdOf(v.id)).toBe(ours);
        },
      ),
    );
  });
});
