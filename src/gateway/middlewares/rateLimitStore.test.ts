import { MemoryRateLimitStore } from './rateLimitStore.ts';
import { rateLimitStoreContract } from './rateLimitStore.contract.ts';

rateLimitStoreContract('MemoryRateLimitStore', () => new MemoryRateLimitStore());
