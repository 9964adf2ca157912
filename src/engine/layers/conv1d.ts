import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const conv1dKind: LayerKind = {
  type: 'conv1d',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('conv1d: not implemented yet'); },
};
