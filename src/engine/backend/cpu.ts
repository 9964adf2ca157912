import type { Backend } from './types.js';
import { matmulJs } from './cpu-matmul.js';
import { conv2dJs, conv2dBackwardJs } from './cpu-conv2d.js';
import { attentionJs, attentionBackwardJs } from './cpu-attention.js';

/** The plain-JavaScript backend: the reference every other backend is tested against. */
export const cpuJsBackend: Backend = {
  name: 'cpu-js',
  matmul: matmulJs,
  conv2d: conv2dJs,
  conv2dBackward: conv2dBackwardJs,
  attention: attentionJs,
  attentionBackward: attentionBackwardJs,
};
