import { describe, expect, it } from 'vitest';
import type { Layer } from '../../src/engine/layers/types.js';
import { makeParam } from '../../src/engine/layers/types.js';
import { Network } from '../../src/engine/network.js';
import {
  ConsoleObserver,
  RecordingObserver,
  formatLayerEvent,
  networkBlueprint,
  type BlueprintSource,
  type LayerEvent,
} from '../../src/engine/observe.js';
import { Rng } from '../../src/engine/rng.js';
import { tensor } from '../../src/engine/tensor.js';

/** A 1×2 grid with 2 dense layers per cell: [3] → 4 → 5 → 6 → 2, layer 2 frozen. */
function gridNet(): Network {
  return new Network(
    {
      inputShape: [3],
      rows: 1,
      cols: 2,
      layersPerCell: 2,
      layers: [
        { type: 'dense', units: 4, activation: 'relu' },
        { type: 'dense', units: 5, activation: 'tanh' },
        { type: 'dense', units: 6 },
        { type: 'dense', units: 2 },
      ] as never,
      frozen: [2],
    },
    new Rng(1),
  );
}

describe('networkBlueprint', () => {
  it('lists every layer with grid position, shapes and real parameter counts', () => {
    const net = gridNet();
    const bp = networkBlueprint(net, 'm-1');
    expect(bp.id).toBe('m-1');
    expect(bp.totalLayers).toBe(4);
    expect(bp.inputShape).toEqual([3]);
    expect(bp.outputShape).toEqual([2]);
    expect(bp.layers.map((l) => l.parameters)).toEqual([3 * 4 + 4, 4 * 5 + 5, 5 * 6 + 6, 6 * 2 + 2]);
    expect(bp.totalParameters).toBe(net.params().reduce((n, p) => n + p.value.length, 0));
    expect(bp.layers.map((l) => [l.gridRow, l.gridCol, l.cellLayer])).toEqual([[0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 1, 1]]);
    expect(bp.layers[1]).toMatchObject({ index: 1, type: 'dense', activation: 'tanh', inputShape: [4], outputShape: [5], frozen: false });
    expect(bp.layers[2]!.frozen).toBe(true);
    expect(bp.layers[0]!.children).toEqual([]);
    // plain JSON, safe to store and send
    expect(JSON.parse(JSON.stringify(bp))).toEqual(bp);
  });

  it('descends into children (branches) and counts their parameters', () => {
    const leaf = (units: number, n: number): Layer =>
      ({ spec: { type: 'dense', units }, inputShape: [3], outputShape: [units], params: () => [makeParam('kernel', [n])] }) as unknown as Layer;
    const branches = [leaf(2, 8), leaf(3, 12)];
    const parallel = {
      spec: { type: 'parallel', combine: 'concat' },
      inputShape: [3],
      outputShape: [5],
      params: () => [makeParam('branch.0.kernel', [8]), makeParam('branch.1.kernel', [12])],
      children: () => branches,
    } as unknown as Layer;
    const source: BlueprintSource = {
      layers: [parallel],
      inputShape: [3],
      outputShape: [5],
      position: () => ({ row: 0, col: 0, layer: 0 }),
      isDisabled: () => false,
      isFrozen: () => false,
    };
    const bp = networkBlueprint(source, 'p');
    expect(bp.totalParameters).toBe(20);
    expect(bp.layers[0]!.children.map((c) => [c.type, c.parameters, c.outputShape])).toEqual([
      ['dense', 8, [2]],
      ['dense', 12, [3]],
    ]);
  });
});

const event = (values: number[], extra: Partial<LayerEvent> = {}): LayerEvent => ({
  mode: 'normal',
  type: 'forward',
  layerIndex: 2,
  layerType: 'dense',
  gridRow: 0,
  gridCol: 1,
  cellLayer: 0,
  modelId: 'm-7',
  stats: { avg: 0.5, max: 2, min: -1, active: 2, total: 3 },
  values: Float32Array.from(values),
  ...extra,
});

describe('ConsoleObserver', () => {
  it('formats one line per event', () => {
    expect(formatLayerEvent(event([2, -1, 0.5]))).toBe('[FWD] m-7 L2 grid[0,1,0] dense: avg=0.5000 max=2.000 min=-1.000 active=2/3');
    expect(formatLayerEvent(event([2, -1, 0.5]), true)).toMatch(/values=\[2\.000, -1\.000, 0\.5000\]$/);
    expect(formatLayerEvent(event(new Array(21).fill(1)), true)).not.toMatch(/values/);
    expect(formatLayerEvent(event([1], { type: 'backward', stepCount: 4 }))).toMatch(/^\[BWD\].* step=4$/);
  });

  it('writes a line for every layer forward and backward through the injected writer', () => {
    const lines: string[] = [];
    const net = gridNet();
    net.modelId = 'grid';
    net.addObserver(new ConsoleObserver({ write: (l) => lines.push(l) }));
    const y = net.forward(tensor([2, 3], [1, 2, 3, 4, 5, 6]));
    net.backward(tensor(y.shape, [1, 0, 0, 1]));
    expect(lines).toHaveLength(8);
    expect(lines.slice(0, 4).every((l) => l.startsWith('[FWD] grid'))).toBe(true);
    expect(lines[3]).toMatch(/L3 grid\[0,1,1\] dense: .* active=\d+\/4$/);
    expect(lines[4]).toMatch(/^\[BWD\] grid L3 /);
  });
});

describe('RecordingObserver', () => {
  it('keeps events with a copy of their first 20 values, and resets', () => {
    let clock = 1000;
    const rec = new RecordingObserver('m-9', () => clock);
    const values = Array.from({ length: 30 }, (_, i) => i);
    const e = event(values);
    rec.onForward(e);
    clock = 1500;
    rec.onBackward(event([7], { type: 'backward' }));
    e.values[0] = 99; // the live buffer is reused later: the recording must not change
    clock = 3000;
    const r = rec.getRecording();
    expect(r.modelId).toBe('m-9');
    expect(r.totalEvents).toBe(2);
    expect(r.durationSeconds).toBe(2);
    expect(r.events[0]!.values).toEqual(values.slice(0, 20));
    expect(r.events[0]!.atMs).toBe(0);
    expect(r.events[1]).toMatchObject({ type: 'backward', values: [7], atMs: 500, layerIndex: 2 });
    expect(Number.isNaN(Date.parse(r.recordedAt))).toBe(false);
    rec.reset();
    expect(rec.getRecording().totalEvents).toBe(0);
    expect(rec.getRecording().durationSeconds).toBe(0);
  });

  it('records a real network pass and takes the model id from events when given none', () => {
    const rec = new RecordingObserver();
    const net = gridNet();
    net.modelId = 'from-net';
    net.addObserver(rec);
    net.forward(tensor([1, 3], [1, 2, 3]));
    const r = rec.getRecording();
    expect(r.modelId).toBe('from-net');
    expect(r.events.map((e) => e.layerIndex)).toEqual([0, 1, 2, 3]);
    expect(r.events[3]!.values).toHaveLength(2);
  });
});
