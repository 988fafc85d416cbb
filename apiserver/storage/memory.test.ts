// MemoryStorage runs the storage contract every implementation runs
// (test/storage/contract.ts; EtcdStorage runs it against a real etcd in
// test/storage/etcd.test.ts).

import { MemoryStorage } from './memory.js';
import { storageContract } from '../../test/storage/contract.js';

storageContract('MemoryStorage', async () => ({ storage: new MemoryStorage(), close: async () => undefined }));
