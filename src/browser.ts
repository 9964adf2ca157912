/**
 * The browser build's entry (scripts/build-browser.mjs bundles it into dist/browser/loom.js, an ES module): the
 * engine's layers and kernels (the WebAssembly matmul embedded), model loading from bytes, and predict. No file
 * system, no server: fetch the model file yourself and hand its bytes to `modelFromBytes`.
 */
export { modelFromBytes, predictRows, describeModel, preprocessingOf, type Prediction, type ModelDescription } from './serve/predictor.js';
export { decodeModels, pickModel, type LoadedModel } from './engine/io/model.js';
export { Network, sequentialNetworkSpec, type NetworkSpec } from './engine/network.js';
export { predict } from './engine/eval.js';
export { applyPreprocessing, parsePreprocessing, type Preprocessing, type RawColumn, type RawValue } from './engine/preprocess.js';
export { Rng } from './engine/rng.js';
export { tensor, type Tensor } from './engine/tensor.js';
export { LoomError } from './engine/errors.js';

import { defaultBackend } from './engine/backend/index.js';

/** Which kernel backend the engine runs on here ("cpu-wasm" when the WebAssembly kernel loaded). */
export const backendName = (): string => defaultBackend().name;
