import { describe, expect, it } from 'vitest';
import { ACTIVATIONS } from '../../src/engine/activations.js';
import { cpuJsBackend } from '../../src/engine/backend/cpu.js';
import { denseKind } from '../../src/engine/layers/dense.js';
import { Rng } from '../../src/engine/rng.js';
import { expectGradientsMatch, gradCheck, randomTensor } from '../helpers/gradcheck.js';

const ctx = { training: false, rng: new Rng(1), backend: cpuJsBackend };

describe('dense', () => {
  it('computes x·W + b with W laid out [in][out]', () => {
    const layer = denseKind.create({ type: 'dense', units: 2 }, [3], new Rng(1));
    layer.params()[0]!.value.set([1, 2, 3, 4, 5, 6]); // W[i][o]
    layer.params()[1]!.value.set([0.5, -0.5]);
    const y = layer.forward({ data: Float32Array.from([1, 1, 2, 0, 1, 0]), shape: [2, 3] }, ctx);
    expect(Array.from(y.data)).toEqual([1 + 3 + 10 + 0.5, 2 + 4 + 12 - 0.5, 3 + 0.5, 4 - 0.5]);
    expect(y.shape).toEqual([2, 2]);
  });

  for (const activation of ACTIVATIONS) {
    it(`gradients match finite differences with ${activation}`, () => {
      const layer = denseKind.create({ type: 'dense', units: 5, activation }, [4], new Rng(2));
      expectGradientsMatch(layer, randomTensor([3, 4]));
    });
  }

  it('applies per position of the last axis', () => {
    const layer = denseKind.create({ type: 'dense', units: 3, activation: 'tanh', perPosition: true }, [4, 6], new Rng(3));
    expect(layer.outputShape).toEqual([4, 3]);
    expectGradientsMatch(layer, randomTensor([2, 4, 6]));
  });

  it('a wrong gradient fails the check', () => {
    const layer = denseKind.create({ type: 'dense', units: 3, activation: 'tanh' }, [4], new Rng(4));
    const broken = {
      forward: layer.forward.bind(layer),
      params: layer.params.bind(layer),
      backward: (dy: Parameters<typeof layer.backward>[0], c: Parameters<typeof layer.backward>[1]) => {
        const dx = layer.backward(dy, c);
        layer.params()[0]!.grad[0]! *= 2; // a bug in one weight's gradient
        return dx;
      },
    };
    const report = gradCheck(broken, randomTensor([2, 4]), { probes: 100 });
    expect(report.errors['kernel']).toBeGreaterThan(1e-2);
  });

  it('names the layer and shapes on a shape mismatch', () => {
    const layer = denseKind.create({ type: 'dense', units: 3 }, [4], new Rng(4));
    expect(() => layer.forward(randomTensor([2, 5]), ctx)).toThrow(/dense: expected input shape \[4\], got \[5\]/);
  });
});
