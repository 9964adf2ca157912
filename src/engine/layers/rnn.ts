import type { LayerKind } from './types.js';
// PLACEHOLDER: replaced by the helper that implements this layer.
export const rnnKind: LayerKind = {
  type: 'rnn',
  doc: 'not implemented yet',
  fields: [],
  create: () => { throw new Error('rnn: not implemented yet'); },
};
