import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const residualKind: LayerKind = {
  type: 'residual',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('residual: not implemented yet'); },
};
