/**
 * Where one training step's time goes, per bench net: samples the V8 CPU profiler over a few epochs of Loom's real
 * train() loop (bench/training.ts's nets) and prints the functions with the most self time, grouped by file.
 * Usage: node bin/run-ts.mjs scripts/profile-training.ts [net-substring] [epochs]
 */
import { Session } from 'node:inspector/promises';
import { TRAINING_CASES, randomData } from '../bench/training.js';
import { Network, sequentialNetworkSpec } from '../src/engine/network.js';
import { Rng } from '../src/engine/rng.js';
import { train } from '../src/engine/train/index.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

const [filter = '', epochsArg = '6'] = process.argv.slice(2);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });

for (const c of TRAINING_CASES.filter((x) => x.name.includes(filter))) {
  const steps = 20;
  const samples = c.batch * steps;
  const { x, y } = randomData(c, samples);
  const net = new Network(sequentialNetworkSpec(c.inputShape, c.loom), new Rng(2));
  const data = { x: { data: x, shape: [samples, ...c.inputShape] }, y };
  const options = { epochs: 1, batchSize: c.batch, learningRate: 1e-3, optimizer: { name: 'adamw' as const, weightDecay: 0 }, shuffle: false };
  train(net, data, options); // warm-up (JIT)
  await session.post('Profiler.start');
  const t = performance.now();
  const epochs = Number(epochsArg);
  for (let e = 0; e < epochs; e++) train(net, data, options);
  const ms = performance.now() - t;
  const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  const self = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const deltas = profile.timeDeltas ?? [];
  let total = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const n = byId.get(id);
    // The profiler's own stop call and idle samples are not the step's time.
    if (!n || n.callFrame.url.startsWith('node:inspector') || n.callFrame.functionName === '(idle)' || n.callFrame.functionName === '(program)') return;
    const dt = deltas[i] ?? 0;
    total += dt;
    const file = n.callFrame.url.replace(/^.*\/(src|node_modules)\//, '$1/') || '(native)';
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${file}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  console.log(`\n## ${c.name}, batch ${c.batch}: ${((epochs * steps) / (ms / 1000)).toFixed(0)} steps/s, ${(ms / (epochs * steps)).toFixed(3)} ms/step`);
  for (const [key, us] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 18)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${key}`);
  }
}
session.disconnect();
