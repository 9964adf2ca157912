import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const swigluKind: LayerKind = {
  type: 'swiglu',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('swiglu: not implemented yet'); },
};
