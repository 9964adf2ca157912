import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const softmaxKind: LayerKind = {
  type: 'softmax',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('softmax: not implemented yet'); },
};
