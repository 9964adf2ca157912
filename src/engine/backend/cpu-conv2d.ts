import type { Conv2dArgs, Conv2dBackwardArgs } from './types.js';
// PLACEHOLDER: replaced by the conv helper.
export function conv2dJs(_args: Conv2dArgs): void { throw new Error('conv2d: not implemented yet'); }
export function conv2dBackwardJs(_args: Conv2dBackwardArgs): void { throw new Error('conv2d: not implemented yet'); }
