export { parseTransformerConfig, TRANSFORMER_TYPES, type TransformerConfig, type TransformerType } from './config.js';
export { checkpointRoles, loadCheckpoint, transformerNetwork, transformerNetworkSpec, type TensorRole, type TransformerCheckpoint } from './checkpoint.js';
export { CachedDecoder, checkSampling, checkTokenIds, generate, sampleToken, sequenceLogits, type GenerateOptions, type SamplingOptions } from './generate.js';
export { causalLmDataset } from './lm.js';
