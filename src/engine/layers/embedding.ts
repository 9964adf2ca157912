import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const embeddingKind: LayerKind = {
  type: 'embedding',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('embedding: not implemented yet'); },
};
