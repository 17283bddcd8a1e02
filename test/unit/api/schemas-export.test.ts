import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allContracts, checkSchemas, renderAll, writeSchemas } from '../../../scripts/export-schemas.ts';

describe('exported JSON Schemas (schemas/*.schema.json)', () => {
  it('the committed files are fresh (run `npm run schemas:export` after changing a contract)', async () => {
    expect(await checkSchemas()).toEqual({ stale: [], missing: [], leftover: [] });
  });

  it('covers the SPEC contracts and every pipeline message', () => {
    const names = allContracts().map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining(['order-instruction', 'cancel-request', 'order-reply', 'instruments-file']),
    );
    expect(names.some((n) => n.endsWith('-message'))).toBe(true);
  });

  it('describes inputs as a sender may write them', () => {
    const doc = JSON.parse(renderAll().get('order-instruction.schema.json') ?? '{}') as {
      $schema: string;
      $id: string;
      title: string;
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    expect(doc.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(doc.$id).toBe('order-instruction.schema.json');
    expect(doc.title).toBe('Order instruction');
    expect(doc.required).toEqual([
      'operation_id',
      'instrument_key',
      'side',
      'quantity',
      'order_type',
      'strategy_id',
    ]);
    expect(doc.additionalProperties).toBe(false);
    expect(Object.keys(doc.properties)).toContain('exec_algorithm_params');
  });

  it('writes only what changed, removes leftovers, and then checks clean', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'schemas-'));
    try {
      const first = await writeSchemas(dir);
      expect(first.written.length).toBe(renderAll().size);
      await writeFile(join(dir, 'order-reply.schema.json'), '{}\n');
      await writeFile(join(dir, 'gone.schema.json'), '{}\n');
      expect(await checkSchemas(dir)).toEqual({
        stale: ['order-reply.schema.json'],
        missing: [],
        leftover: ['gone.schema.json'],
      });
      const second = await writeSchemas(dir);
      expect(second).toEqual({ written: ['order-reply.schema.json'], removed: ['gone.schema.json'] });
      expect(await checkSchemas(dir)).toEqual({ stale: [], missing: [], leftover: [] });
      expect(await readFile(join(dir, 'order-reply.schema.json'), 'utf8')).toMatch(/^\{\n {2}"\$schema"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
