import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const rmsNormKind: LayerKind = {
  type: 'rmsnorm',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('rmsnorm: not implemented yet'); },
};
