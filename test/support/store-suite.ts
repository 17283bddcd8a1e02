/**
 * The scaffolding every store contract file repeats: the local adapter in memory and with a
 * journal in a temp folder, and the Firestore adapter on a real emulator (started per file, or a
 * loud skip: emulator-guard.ts), each store over collections no other test uses.
 *
 * ```ts
 * const tempDir = tempDirs('positions-');
 * localStoreContracts(positionStoreContract, LocalPositionStore, tempDir);
 * await firestoreSuite('position-store', (fs) => {
 *   positionStoreContract('Firestore', () => fs.harness((o) => new FirestorePositionStore(o)), {
 *     durable: true,
 *   });
 *   it('...', async () => { const store = new FirestorePositionStore({ firestore: fs.db, collectionPrefix: fs.prefix() }); ... });
 * });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Firestore } from '@google-cloud/firestore';
import { afterAll, describe } from 'vitest';
import { startOrSkip } from './emulator-guard.ts';
import { type FirestoreEmulator, startFirestoreEmulator } from './firestore-emulator.ts';

export interface Closable {
  close(): Promise<void>;
}

/** What the store contracts take: a store and, for a durable adapter, a restart. */
export interface StoreHarness<S> {
  store: S;
  /** Close the store and open another over the same data (a restart). */
  reopen?: () => Promise<S>;
}

/** The shape of `positionStoreContract`, `orderStoreContract`, ... */
export type StoreContract<S> = (
  name: string,
  factory: () => Promise<StoreHarness<S>>,
  opts: { durable: boolean },
) => void;

/** A harness over `store` whose `reopen` closes the current store and opens the next with `open`. */
export function reopenable<S extends Closable>(
  store: S,
  open: () => S | Promise<S>,
): StoreHarness<S> & { reopen: () => Promise<S> } {
  const h = {
    store,
    reopen: async () => {
      await h.store.close();
      h.store = await open();
      return h.store;
    },
  };
  return h;
}

/** A maker of temp folders (`<tmp>/<prefix>XXXXXX`), all removed after the file's tests. */
export function tempDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const d = await mkdtemp(join(tmpdir(), prefix));
    made.push(d);
    return d;
  };
}

/**
 * Runs `contract` on the local adapter twice: 'local, memory only' (not durable) and 'local,
 * journal on disk' (a journal in a fresh temp folder per test; a restart replays the folder).
 */
export function localStoreContracts<S extends Closable>(
  contract: StoreContract<S>,
  adapter: { memory(): S; open(opts: { dataDir: string }): Promise<S> },
  tempDir: () => Promise<string>,
): void {
  contract('local, memory only', async () => ({ store: adapter.memory() }), { durable: false });
  contract(
    'local, journal on disk',
    async () => {
      const dataDir = await tempDir();
      const open = () => adapter.open({ dataDir });
      return reopenable(await open(), open);
    },
    { durable: true },
  );
}

/** The options every Firestore store adapter takes. */
export interface FirestoreStoreOptions {
  firestore: Firestore;
  collectionPrefix: string;
  /** The store terminates the client when it closes. */
  ownsClient?: boolean;
}

export interface FirestoreSuite {
  /** The running emulator (throws when it could not start: the suite is skipped then). */
  readonly emulator: FirestoreEmulator;
  /** One client for the suite, closed when the emulator stops. */
  readonly db: Firestore;
  /** A collection prefix no other test uses. */
  prefix(): string;
  /**
   * A store over fresh collections on the shared client; `reopen` is a restart: a new client
   * (owned by the new store) and a new store over the same collections.
   */
  harness<S extends Closable>(
    make: (opts: FirestoreStoreOptions) => S,
  ): Promise<StoreHarness<S> & { reopen: () => Promise<S> }>;
}

export interface FirestoreSuiteOptions {
  /** The first part of every collection prefix (default 't'): `<tag>-<8 hex>-`. */
  prefixTag?: string;
}

/**
 * Starts a Firestore emulator for the file (or skips loudly; fails under CI=true) and declares
 * `describe('Firestore emulator')` with `body` in it; the emulator stops after the suite. Await it
 * at the top level of the test file, so vitest knows whether to skip before collecting.
 */
export async function firestoreSuite(
  name: string,
  body: (suite: FirestoreSuite) => void,
  opts: FirestoreSuiteOptions = {},
): Promise<void> {
  const emu = await startOrSkip('Firestore', () => startFirestoreEmulator());
  const tag = opts.prefixTag ?? 't';

  describe.skipIf(!emu.ok)('Firestore emulator', () => {
    const emulator = emu.ok ? emu.value : null;
    const db = emulator?.client();
    const running = (): { emulator: FirestoreEmulator; db: Firestore } => {
      if (!emulator || !db) throw new Error('emulator not running');
      return { emulator, db };
    };
    const prefix = () => `${tag}-${randomUUID().slice(0, 8)}-`;

    afterAll(async () => {
      if (emulator) {
        console.info(`Firestore emulator for ${name} tests started in ${emulator.startMs} ms`);
        await emulator.stop();
      }
    });

    body({
      get emulator() {
        return running().emulator;
      },
      get db() {
        return running().db;
      },
      prefix,
      async harness(make) {
        const run = running();
        const collectionPrefix = prefix();
        return reopenable(make({ firestore: run.db, collectionPrefix }), () =>
          make({ firestore: run.emulator.client(), collectionPrefix, ownsClient: true }),
        );
      },
    });
  });
}
