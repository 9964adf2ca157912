import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const parallelKind: LayerKind = {
  type: 'parallel',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('parallel: not implemented yet'); },
};
