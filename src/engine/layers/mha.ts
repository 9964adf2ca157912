import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const mhaKind: LayerKind = {
  type: 'mha',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('mha: not implemented yet'); },
};
