import type { Activation } from '../../../activations.js';
import { float, type OnnxGraph, type OnnxLayer } from '../graph.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Loom's activations (src/engine/activations.ts) in standard opset-17 operators. */
export function emitActivation<L extends OnnxLayer>(g: OnnxGraph<L>, x: string, act: Activation): string {
  switch (act) {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x]);
    case 'scaled_relu':
      return g.op('Mul', [g.op('Relu', [x]), g.scalar('scaled_relu', 1.1)]);
    case 'sigmoid':
      return g.op('Sigmoid', [x]);
    case 'tanh':
      return g.op('Tanh', [x]);
    // Loom returns v itself above 20, where log(1 + eᵛ) equals v to float32 precision.
    case 'softplus':
      return g.op('Softplus', [x]);
    case 'leaky_relu':
      return g.op('LeakyRelu', [x], { alpha: float(0.1) });
    case 'silu':
      return g.op('Mul', [x, g.op('Sigmoid', [x])]);
    case 'gelu': {
      // The tanh form Loom uses (opset 17 has no Gelu): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
      const x3 = g.op('Mul', [g.op('Mul', [x, x]), x]);
      const inner = g.op('Add', [x, g.op('Mul', [x3, g.scalar('gelu_c', 0.044715)])]);
      const t = g.op('Tanh', [g.op('Mul', [inner, g.scalar('gelu_k', SQRT_2_OVER_PI)])]);
      const half = g.op('Mul', [x, g.scalar('half', 0.5)]);
      return g.op('Mul', [half, g.op('Add', [t, g.scalar('one', 1)])]);
    }
    default: {
      const unknown: never = act;
      throw new Error(`onnx export: unknown activation ${String(unknown)}`);
    }
  }
}
