import { FirestorePortfolioStateStore } from '../../infra/firestore/portfolio-state.firestore.ts';
import { MemoryPortfolioStateStore } from '../../infra/memory/portfolio-state.memory.ts';
import { firestoreSuite } from '../support/store-suite.ts';
import { portfolioStateContract } from './portfolio-state.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

portfolioStateContract('memory', async () => ({ store: new MemoryPortfolioStateStore() }));

await firestoreSuite('portfolio-state', (fs) => {
  portfolioStateContract('Firestore', () => fs.harness((o) => new FirestorePortfolioStateStore(o)));
});
