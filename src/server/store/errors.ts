/** The state store's own errors, shared by the store API and its commit pipelines. */
import { defineError } from '../../lib/errors.ts';

export const ErrStoreClosed = defineError('MG_STORE_CLOSED', 503, () => 'state store is closed');
export const ErrStoreConflict = defineError('MG_STORE_CONFLICT', 503, (attempts: number) =>
  `state store: transaction still conflicted with other replicas' writes after ${attempts} attempts`);
export const ErrStoreBehind = defineError('MG_STORE_BEHIND', 503, (index: number, applied: number) =>
  `state store: the view did not catch up with index ${index} (applied ${applied})`);
