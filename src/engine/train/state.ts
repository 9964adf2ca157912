import { modelFileError, type LoomError } from '../errors.js';
import type { RngState } from '../rng.js';
import type { EpochMetrics, EpochPartial, TrainState } from './options.js';

/**
 * A paused training run (TrainState, defined with the options that take and report it) as bytes, so it crosses
 * processes and queues: what a search needs to stop a model at a rung and let it go on later.
 */

const MAGIC = 'LOOMTRS1';

interface Header {
  readonly epoch: number;
  readonly rowsDone: number;
  readonly step: number;
  readonly orderLength: number;
  readonly shuffleRng: RngState;
  readonly rng: RngState;
  readonly partial: EpochPartial;
  readonly optimizer: { readonly name: string; readonly slots: readonly (readonly [string, number])[][] };
  readonly history: readonly EpochMetrics[];
}

/** The state as bytes: magic, a JSON header (4-byte aligned), the order (int32), then every optimizer buffer (float32). */
export function encodeTrainState(state: TrainState): Uint8Array {
  const header: Header = {
    epoch: state.epoch,
    rowsDone: state.rowsDone,
    step: state.step,
    orderLength: state.order.length,
    shuffleRng: state.shuffleRng,
    rng: state.rng,
    partial: state.partial,
    optimizer: { name: state.optimizer.name, slots: state.optimizer.slots.map((slots) => Object.entries(slots).map(([name, buf]) => [name, buf.length] as const)) },
    history: state.history,
  };
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 4) * 4;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const buffers = state.optimizer.slots.flatMap((slots) => Object.values(slots));
  const floats = buffers.reduce((n, b) => n + b.length, 0);
  const out = new Uint8Array(MAGIC.length + 4 + json.length + 4 * state.order.length + 4 * floats);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(MAGIC.length, json.length, true);
  out.set(json, MAGIC.length + 4);
  let at = MAGIC.length + 4 + json.length;
  for (const v of state.order) {
    view.setInt32(at, v, true);
    at += 4;
  }
  for (const buf of buffers) {
    for (const v of buf) {
      view.setFloat32(at, v, true);
      at += 4;
    }
  }
  return out;
}

const bad = (why: string): LoomError => modelFileError(`not a Loom training state: ${why}`);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function parseRngState(v: unknown, field: string): RngState {
  if (!isObject(v) || !Array.isArray(v.words) || v.words.length !== 4 || !v.words.every((w) => isCount(w) && w <= 0xffffffff)) throw bad(`${field} needs four 32-bit words`);
  if (v.spareNormal !== null && !isNumber(v.spareNormal)) throw bad(`${field}.spareNormal must be a number or null`);
  const [a, b, c, d] = v.words as number[];
  return { words: [a as number, b as number, c as number, d as number], spareNormal: v.spareNormal };
}

function parseMetrics(v: unknown, i: number): EpochMetrics {
  if (!isObject(v) || !isCount(v.epoch) || !isNumber(v.loss) || !isNumber(v.accuracy) || !isNumber(v.lr) || !isNumber(v.ms)) throw bad(`history entry ${i} needs epoch, loss, accuracy, lr and ms`);
  const validated = isNumber(v.valLoss) && isNumber(v.valAccuracy);
  return { epoch: v.epoch, loss: v.loss, accuracy: v.accuracy, ...(validated ? { valLoss: v.valLoss as number, valAccuracy: v.valAccuracy as number } : {}), lr: v.lr, ms: v.ms };
}

/** Parses what encodeTrainState wrote, refusing anything else with LOOM_ERR_MODEL_FILE naming what is wrong. */
export function decodeTrainState(bytes: Uint8Array): TrainState {
  if (bytes.length < MAGIC.length + 4 || new TextDecoder().decode(bytes.subarray(0, MAGIC.length)) !== MAGIC) throw bad(`it does not start with ${MAGIC}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(MAGIC.length, true);
  const bodyAt = MAGIC.length + 4 + headerLength;
  if (bodyAt > bytes.length) throw bad(`its header (${headerLength} bytes) runs past the end (${bytes.length} bytes)`);
  let h: unknown;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(MAGIC.length + 4, bodyAt)));
  } catch {
    throw bad('its header is not JSON');
  }
  if (!isObject(h)) throw bad('its header is not an object');
  if (!isCount(h.epoch) || h.epoch < 1 || !isCount(h.rowsDone) || !isCount(h.step) || !isCount(h.orderLength)) throw bad('epoch, rowsDone, step and orderLength must be whole numbers (epoch from 1)');
  if (h.rowsDone > h.orderLength) throw bad(`rowsDone (${h.rowsDone}) exceeds the ${h.orderLength} rows`);
  const p = h.partial;
  if (!isObject(p) || !isNumber(p.lossSum) || !isNumber(p.correct) || !isNumber(p.rows) || !isCount(p.steps)) throw bad('partial needs lossSum, correct, rows and steps');
  const o = h.optimizer;
  if (!isObject(o) || typeof o.name !== 'string' || !Array.isArray(o.slots)) throw bad('optimizer needs a name and slots');
  const layout = o.slots.map((slots, i) => {
    if (!Array.isArray(slots) || !slots.every((s) => Array.isArray(s) && s.length === 2 && typeof s[0] === 'string' && isCount(s[1]))) throw bad(`optimizer slots of parameter ${i} must be [name, length] pairs`);
    return slots as [string, number][];
  });
  if (!Array.isArray(h.history)) throw bad('history must be a list');
  const floats = layout.flat().reduce((n, [, len]) => n + len, 0);
  const expected = bodyAt + 4 * h.orderLength + 4 * floats;
  if (bytes.length !== expected) throw bad(`it is ${bytes.length} bytes, its header describes ${expected}`);
  let at = bodyAt;
  const order = new Int32Array(h.orderLength);
  for (let i = 0; i < order.length; i++, at += 4) order[i] = view.getInt32(at, true);
  const slots = layout.map((pairs) =>
    Object.fromEntries(
      pairs.map(([name, len]) => {
        const buf = new Float32Array(len);
        for (let i = 0; i < len; i++, at += 4) buf[i] = view.getFloat32(at, true);
        return [name, buf];
      }),
    ),
  );
  return {
    epoch: h.epoch,
    rowsDone: h.rowsDone,
    step: h.step,
    order,
    shuffleRng: parseRngState(h.shuffleRng, 'shuffleRng'),
    rng: parseRngState(h.rng, 'rng'),
    partial: { lossSum: p.lossSum, correct: p.correct, rows: p.rows, steps: p.steps },
    optimizer: { name: o.name, slots },
    history: h.history.map(parseMetrics),
  };
}
