import type { AttentionArgs, AttentionBackwardArgs } from './types.js';
// PLACEHOLDER: replaced by the attention helper.
export function attentionJs(_args: AttentionArgs): void { throw new Error('attention: not implemented yet'); }
export function attentionBackwardJs(_args: AttentionBackwardArgs): void { throw new Error('attention: not implemented yet'); }
