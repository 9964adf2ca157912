import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const lstmKind: LayerKind = {
  type: 'lstm',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('lstm: not implemented yet'); },
};
