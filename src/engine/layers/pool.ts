import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const poolKind: LayerKind = {
  type: 'pool',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('pool: not implemented yet'); },
};
