import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { Network } from '../../network.js';
import type { OnnxAttr, OnnxInitializer } from './graph.js';
import { networkToOnnx, ONNX_OPSET, type OnnxExportOptions, type OnnxModel, type OnnxValueInfo } from './export.js';

const { onnx } = onnxProto;

/** ONNX IR version 8 (ONNX 1.10+): what onnx-proto's schema describes, and what opset 17 runtimes accept. */
const IR_VERSION = 8;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const AttributeType = onnx.AttributeProto.AttributeType;

function attribute(name: string, a: OnnxAttr): Onnx.IAttributeProto {
  switch (a.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: a.value };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: a.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: AttributeType.STRING, s: new TextEncoder().encode(a.value) };
  }
}

/** Float tensors as little-endian raw bytes (the wire format, whatever the host's byte order). */
function tensor(init: OnnxInitializer): Onnx.ITensorProto {
  if (init.type === 'int64') return { name: init.name, dims: [...init.dims], dataType: INT64, int64Data: [...init.data] };
  const raw = new Uint8Array(init.data.length * 4);
  const view = new DataView(raw.buffer);
  init.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name: init.name, dims: [...init.dims], dataType: FLOAT, rawData: raw };
}

function valueInfo(v: OnnxValueInfo): Onnx.IValueInfoProto {
  const dim = [{ dimParam: 'N' }, ...v.sampleShape.map((d) => ({ dimValue: d }))];
  return { name: v.name, type: { tensorType: { elemType: v.type === 'float' ? FLOAT : INT64, shape: { dim } } } };
}

/** Serializes a built graph with the maintained ONNX protobuf schema (onnx-proto). */
export function encodeOnnx(model: OnnxModel, producerVersion = '0.1.0'): Uint8Array {
  const { graph } = model;
  const proto: Onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'loom',
    producerVersion,
    graph: {
      name: model.name,
      node: graph.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attrs).map(([name, a]) => attribute(name, a)),
      })),
      initializer: graph.initializers.map(tensor),
      input: model.inputs.map(valueInfo),
      output: model.outputs.map(valueInfo),
    },
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(proto).finish();
}

/** A network (and the preprocessing it was trained with) as ONNX model bytes. */
export function encodeOnnxModel(network: Network, options: OnnxExportOptions = {}): Uint8Array {
  return encodeOnnx(networkToOnnx(network, options));
}
