import type { Layer, RunContext } from './layers/types.js';
import { shapeError } from './errors.js';
import type { Tensor } from './tensor.js';

/** One position of a chain; a disabled layer acts as the identity. */
export interface ChainEntry {
  readonly layer: Layer;
  disabled: boolean;
}

/** Called after each enabled layer's forward and backward (the network turns these into observer events). */
export interface ChainHooks {
  onForward?(index: number, layer: Layer, input: Tensor, output: Tensor): void;
  onBackward?(index: number, layer: Layer, dOutput: Tensor, dInput: Tensor): void;
}

function addInto(target: Float32Array, source: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) + (source[i] as number);
}

/**
 * Runs layers one after another: the execution core shared by Network (its flat grid order) and Sequential.
 * It owns the one piece of wiring that is not a plain pipe: Residual layers read the input of an earlier
 * position, and their gradient is routed back to that position.
 */
export class Chain {
  private inputs: Tensor[] = [];

  constructor(readonly entries: readonly ChainEntry[], private readonly hooks: ChainHooks = {}) {}

  forward(x: Tensor, ctx: RunContext): Tensor {
    this.inputs = [];
    let current = x;
    this.entries.forEach((entry, i) => {
      this.inputs.push(current);
      if (entry.disabled) return;
      const { layer } = entry;
      let out: Tensor;
      if (layer.skipBack !== undefined && layer.forwardSkip) {
        const from = i - layer.skipBack;
        const skip = from >= 0 ? this.inputs[from] : undefined;
        if (!skip) throw shapeError(`${layer.spec.type} at position ${i}`, `a layer ${layer.skipBack} position(s) back`, []);
        out = layer.forwardSkip(current, skip, ctx);
      } else {
        out = layer.forward(current, ctx);
      }
      this.hooks.onForward?.(i, layer, current, out);
      current = out;
    });
    return current;
  }

  /** Backpropagates dL/d(output) and returns dL/d(input). Must follow `forward`. */
  backward(dy: Tensor, ctx: RunContext): Tensor {
    // pending[i] collects skip gradients destined for the input of position i.
    const pending = new Map<number, Float32Array>();
    let grad = dy;
    // Only the first enabled layer's input is the chain's input: every later one must produce its dx.
    const firstEnabled = this.entries.findIndex((e) => !e.disabled);
    // Where nothing reads dL/d(input) (inputGrad false: a network's data), no layer before the first one with
    // parameters (reshapes, augmentations) needs a gradient, and that one needs none of its input: a conv stem's first
    // convolution after a reshape skips its input-gradient product. The parameters' gradients are the same.
    const noInputGrad = ctx.inputGrad === false;
    const firstNeeded = noInputGrad ? Math.max(firstEnabled, this.entries.findIndex((e) => !e.disabled && e.layer.params().length > 0)) : firstEnabled;
    const inner = noInputGrad ? { ...ctx, inputGrad: true } : ctx;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (noInputGrad && i < firstNeeded) {
        // Skipped layers leave a gradient nobody reads: zeros, shaped like the chain's input.
        const input = this.inputs[0] as Tensor;
        return { data: new Float32Array(input.data.length), shape: input.shape };
      }
      const entry = this.entries[i] as ChainEntry;
      if (!entry.disabled) {
        const { layer } = entry;
        const dx = layer.backward(grad, i === firstNeeded ? ctx : inner);
        this.hooks.onBackward?.(i, layer, grad, dx);
        if (layer.skipBack !== undefined && layer.skipGrad) {
          const target = i - layer.skipBack;
          const g = layer.skipGrad().data;
          const acc = pending.get(target);
          if (acc) addInto(acc, g);
          else pending.set(target, g.slice());
        }
        grad = dx;
      }
      const extra = pending.get(i);
      if (extra) {
        // extra is the chain's own copy and read by no one else: the sum goes into it (the same bits, + commutes).
        pending.delete(i);
        addInto(extra, grad.data);
        grad = { data: extra, shape: grad.shape };
      }
    }
    return grad;
  }
}
