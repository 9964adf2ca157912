import type { Activation } from '../engine/activations.js';
import { configError } from '../engine/errors.js';
import type { Conv1dSpec } from '../engine/layers/conv1d.js';
import type { DenseSpec } from '../engine/layers/dense.js';
import type { LayerNormSpec } from '../engine/layers/layernorm.js';
import type { LstmSpec } from '../engine/layers/lstm.js';
import type { MhaSpec } from '../engine/layers/mha.js';
import type { ResidualSpec } from '../engine/layers/residual.js';
import type { RnnSpec } from '../engine/layers/rnn.js';
import type { SequentialSpec } from '../engine/layers/sequential.js';
import type { SwigluSpec } from '../engine/layers/swiglu.js';
import type { LayerSpec } from '../engine/layers/types.js';
import type { BrainType } from './arch.js';

/** What every brain of a hive shares. */
export interface BrainParams {
  readonly dModel: number;
  readonly numHeads: number;
  readonly activation: Activation;
  readonly initScale: number;
}

/**
 * The layer spec of one brain. Every brain maps [seq, dModel] → [seq, dModel] and is fully trainable; each is what
 * its name says (LOOM's MHA brain output a constant and its SwiGLU/NormDense were plain Dense layers, §1.6/§10):
 *
 * - MHA: pre-norm self-attention block, x + MHA(LayerNorm(x)), non-causal, RoPE for position when headDim is even.
 *   The residual keeps the signal flowing through deep hives; the attention itself really attends.
 * - LSTM / RNN: recurrent over the sequence, hidden = dModel, all hidden states returned.
 * - Dense: per-position dense with the config's activation.
 * - SwiGLU: the gated feed-forward block (silu(x·Wg) ⊙ x·Wu)·Wd with an intermediate of 2·dModel.
 * - NormDense: LayerNorm then a per-position dense with the config's activation.
 * - Conv1D: convolution along the sequence (kernel 3, 'same' padding) over tokens, dModel filters.
 */
export function brainSpec(type: BrainType, p: BrainParams): LayerSpec {
  const { dModel, numHeads, activation, initScale } = p;
  switch (type) {
    case 'MHA': {
      if (dModel % numHeads !== 0) throw configError('numHeads', `${numHeads} must divide dModel ${dModel} for an MHA brain`);
      const mha: MhaSpec = { type: 'mha', heads: numHeads, causal: false, rope: (dModel / numHeads) % 2 === 0, initScale };
      const norm: LayerNormSpec = { type: 'layer_norm' };
      const skip: ResidualSpec = { type: 'residual', back: 2 };
      return sequential([norm, mha, skip]);
    }
    case 'LSTM':
      return spec<LstmSpec>({ type: 'lstm', hidden: dModel, initScale });
    case 'RNN':
      return spec<RnnSpec>({ type: 'rnn', hidden: dModel, initScale });
    case 'Dense':
      return dense(dModel, activation, initScale);
    case 'SwiGLU':
      return spec<SwigluSpec>({ type: 'swiglu', hidden: 2 * dModel, initScale });
    case 'NormDense':
      return sequential([spec<LayerNormSpec>({ type: 'layer_norm' }), dense(dModel, activation, initScale)]);
    case 'Conv1D':
      return spec<Conv1dSpec>({ type: 'conv1d', filters: dModel, kernelSize: 3, padding: 'same', channelsLast: true, activation, initScale });
    default: {
      const unknown: never = type;
      throw configError('brains', `unknown brain type ${JSON.stringify(unknown)}`);
    }
  }
}

const dense = (units: number, activation: Activation, initScale: number): DenseSpec => ({
  type: 'dense', units, activation, perPosition: true, initScale,
});

const sequential = (layers: readonly LayerSpec[]): SequentialSpec => ({ type: 'sequential', layers });

/** Checks a literal against its layer's spec type, returned as a plain LayerSpec. */
const spec = <S extends LayerSpec>(s: S): LayerSpec => s;
