import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/engine/eval.js';
import { loadTransformerFolder } from '../../src/engine/io/hf-folder.js';
import { decodeLoomModel, encodeLoomModel } from '../../src/engine/io/loom-format.js';
import { transformerNetwork } from '../../src/engine/transformer/checkpoint.js';
import { causalLmDataset } from '../../src/engine/transformer/lm.js';
import { train } from '../../src/engine/train/loop.js';
import { expectGradientsMatch } from '../helpers/gradcheck.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'transformers');

describe('a loaded checkpoint is an ordinary Loom network', () => {
  it('passes the finite-difference gradient check through every layer', () => {
    const checkpoint = loadTransformerFolder(join(FIXTURES, 'qwen2-bf16-tied'));
    const network = transformerNetwork(checkpoint, 4);
    const ids = { data: Float32Array.of(1, 5, 9, 2, 3, 3, 7, 0), shape: [2, 4] };
    // The Llama biases that the checkpoint does not hold still get gradients; ids have none.
    expectGradientsMatch(network, ids, { skipInput: true, probes: 12, eps: 2e-3, tol: 2e-2 });
  });

  it('fine-tunes on a fixed token sequence with the engine optimizer, lowering the loss', () => {
    const checkpoint = loadTransformerFolder(join(FIXTURES, 'llama-gqa'));
    const network = transformerNetwork(checkpoint, 8);
    const tokens = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
    const data = causalLmDataset([tokens], 8);
    expect(data.x.shape).toEqual([3, 8]);
    const before = evaluate(network, data).loss;
    const result = train(network, data, { epochs: 30, batchSize: 3, learningRate: 3e-3, optimizer: 'adamw', seed: 1 });
    const after = evaluate(network, data).loss;
    expect(result.history.length).toBe(30);
    expect(result.lossName).toBe("softmax_cross_entropy");
    expect(after).toBeLessThan(before * 0.5);
  });

  it('saves to the Loom format and reloads with identical outputs', () => {
    const checkpoint = loadTransformerFolder(join(FIXTURES, 'llama-f16-sharded'));
    const network = transformerNetwork(checkpoint, 5);
    const ids = { data: Float32Array.of(4, 8, 15, 16, 23), shape: [1, 5] };
    const reloaded = decodeLoomModel(encodeLoomModel(network)).network;
    expect(Array.from(reloaded.forward(ids).data)).toEqual(Array.from(network.forward(ids).data));
  });
});
