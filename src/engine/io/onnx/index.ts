/** ONNX export: graph building (graph.ts, export.ts, shared ops/ helpers; each kind's emitter lives in its layer file — no protobuf) and encoding (encode.ts, onnx-proto). */
export { OnnxGraph, type OnnxEmitter, type OnnxAttr, type OnnxNode, type OnnxInitializer } from './graph.js';
export { networkToOnnx, ONNX_OPSET, type OnnxExportOptions, type OnnxModel, type OnnxValueInfo } from './export.js';
export { encodeOnnx, encodeOnnxModel } from './encode.js';
