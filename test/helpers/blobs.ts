import { Rng } from '../../src/engine/rng.js';
import { tensor, type Tensor } from '../../src/engine/tensor.js';

/** Three Gaussian blobs in 4-D, labelled by blob (blob c centred at 2 on axis c), with noise of deviation `std`. */
export function gaussianBlobs(n: number, seed: number, std: number): { x: Tensor; y: Int32Array } {
  const rng = new Rng(seed);
  const x = tensor([n, 4]);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    y[i] = c;
    for (let j = 0; j < 4; j++) x.data[i * 4 + j] = (j === c ? 2 : 0) + rng.normal(0, std);
  }
  return { x, y };
}
