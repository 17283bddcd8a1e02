import { describe, expect, it } from 'vitest';
import { InstrumentsMissingError, loadInstrumentSpecs } from '../../../infra/ticks/instruments.ts';
import { encodeInstrumentSpecs, writeInstrumentSpecs } from '../../../infra/ticks/writer.ts';
import { syntheticInstrumentSpecs } from '../../../shared/data/synthetic.ts';
import { tempBlobStore } from './helpers.ts';

describe('instruments/<day>.json', () => {
  it('writes canonical JSON and loads the latest file on or before a day', async () => {
    const { blobs, cleanup } = await tempBlobStore('instruments');
    try {
      const specs = syntheticInstrumentSpecs();
      await writeInstrumentSpecs(blobs, '2025-07-01', specs);
      const changed = specs.map((s) => ({ ...s, taker_fee: '0.00075' }));
      await writeInstrumentSpecs(blobs, '2025-07-03', changed);
      await blobs.put('instruments/README.txt', 'not a day file');

      const on2 = await loadInstrumentSpecs(blobs, '2025-07-02');
      expect(on2.key).toBe('instruments/2025-07-01.json');
      expect(on2.specs).toEqual(specs);
      const on5 = await loadInstrumentSpecs(blobs, '2025-07-05');
      expect(on5.day).toBe('2025-07-03');
      expect(on5.specs[0]?.taker_fee).toBe('0.00075');
      await expect(loadInstrumentSpecs(blobs, '2025-06-30')).rejects.toBeInstanceOf(InstrumentsMissingError);

      const text = encodeInstrumentSpecs(specs);
      expect(JSON.parse(text)).toEqual(specs);
      expect(text.endsWith('\n')).toBe(true);

      await blobs.put('instruments/2025-07-04.json', JSON.stringify([{ ...specs[0], tick_size: '-1' }]));
      await expect(loadInstrumentSpecs(blobs, '2025-07-04')).rejects.toThrow(
        /instruments\/2025-07-04\.json\[0\]\.tick_size/,
      );
      await blobs.put('instruments/2025-07-04.json', '{oops');
      await expect(loadInstrumentSpecs(blobs, '2025-07-04')).rejects.toThrow(
        /instruments\/2025-07-04\.json: not JSON/,
      );
    } finally {
      await cleanup();
    }
  });
});
