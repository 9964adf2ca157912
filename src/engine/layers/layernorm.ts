import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const layerNormKind: LayerKind = {
  type: 'layernorm',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('layernorm: not implemented yet'); },
};
