import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const flattenKind: LayerKind = {
  type: 'flatten',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('flatten: not implemented yet'); },
};
