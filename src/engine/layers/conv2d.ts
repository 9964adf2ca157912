import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const conv2dKind: LayerKind = {
  type: 'conv2d',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('conv2d: not implemented yet'); },
};
