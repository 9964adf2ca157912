import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const sequentialKind: LayerKind = {
  type: 'sequential',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('sequential: not implemented yet'); },
};
