/**
 * Model files. Pure byte encoders/decoders (Loom's safetensors model, LOOM bundles, plain safetensors weights);
 * files.ts alone does file I/O and is not re-exported here, so importing the engine never pulls in node:fs.
 */
export { float32ToFloat16Bits, float16BitsToFloat32, bfloat16BitsToFloat32, float32ToString, roundToFloat16 } from './float16.js';
export {
  parseSafetensors, readSafetensors, writeSafetensors, encodeSafetensors, toFloat32, FLOAT_DTYPES,
  type FloatTensor, type RawTensor, type SafetensorsContents, type FloatDtype,
} from './safetensors.js';
export { loadWeightsByName, paramTensors, type LoadWeightsOptions, type LoadWeightsReport } from './weights.js';
export { encodeLoomModel, decodeLoomModel, LOOM_DTYPES, LOOM_FORMAT, LOOM_FORMAT_VERSION, type LoomDtype, type LoomModelFile, type EncodeLoomOptions } from './loom-format.js';
export {
  encodeLoomBundle, decodeLoomBundle, MULTI_PRECISION_DTYPES,
  type BundleModel, type EncodeBundleOptions, type DecodeBundleOptions, type LoadedBundle, type MultiPrecisionDtype,
} from './loom-bundle.js';
export { decodeModels, detectModelFormat, pickModel, type DecodedModels, type LoadedModel } from './model.js';
export {
  encodeModel, formatForPath, isModelFormat, modelFormat, MODEL_FORMATS, MODEL_FORMAT_NAMES,
  type EncodeModelOptions, type ModelFormat, type ModelFormatEntry, type ModelMetadata,
} from './formats.js';
export { networkFromSpec } from './rebuild.js';
