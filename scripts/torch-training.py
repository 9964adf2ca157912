#!/usr/bin/python3
"""PyTorch anchor for `npm run bench` (bench/torch.ts): trains the same five nets as Loom's training bench on
random data with Adam (lr 1e-3) on ONE thread (the bench sets OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 too).

Served over stdin/stdout so the bench can alternate PyTorch epochs with Loom's and tfjs's in the same minutes: it
prints {"torch": version}, then for each input line "<net name>\t<steps>" trains one epoch of that many batches
(the first request for a net builds it and runs a warm-up epoch) and prints {"seconds": elapsed}.
`torch-training.py --once [runs]` instead prints {net name: samples per second} (median of runs) and exits.
scripts/install-torch.sh installs torch."""
import json
import statistics
import sys
import time

import torch
from torch import nn

torch.set_num_threads(1)
torch.manual_seed(1)


class Block(nn.Module):
    """Pre-norm transformer block as Loom's bench spells it: LN -> MHA -> +x -> LN -> FFN(relu) -> +, dense head."""

    def __init__(self, seq, d_model, heads, ffn, classes):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.mha = nn.MultiheadAttention(d_model, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, ffn)
        self.ff2 = nn.Linear(ffn, d_model)
        self.head = nn.Linear(seq * d_model, classes)

    def forward(self, x):
        h = self.ln1(x)
        r1 = x + self.mha(h, h, h, need_weights=False)[0]
        r2 = r1 + self.ff2(torch.relu(self.ff1(self.ln2(r1))))
        return self.head(r2.flatten(1))


class Lstm(nn.Module):
    """LSTM returning every step -> flatten -> dense, as Loom's bench."""

    def __init__(self, seq, in_size, hidden, classes):
        super().__init__()
        self.lstm = nn.LSTM(in_size, hidden, batch_first=True)
        self.head = nn.Linear(seq * hidden, classes)

    def forward(self, x):
        return self.head(self.lstm(x)[0].flatten(1))


def conv_stem(widths, classes):
    """Conv 3x3 'same' + ReLU + 2x2 max pool per width -> flatten -> dense, as Loom's bench."""
    layers, channels, size = [], 1, 28
    for w in widths:
        layers += [nn.Conv2d(channels, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        channels, size = w, size // 2
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels * size * size, classes))


# name (as in bench/training.ts) -> (model, input shape, batch, steps per timed epoch)
CASES = {
    'MLP 64-128-10': (lambda: nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)), (64,), 32, 200),
    'MLP 784-256-10': (lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)), (784,), 64, 60),
    'LSTM seq 16, in 32, hidden 64': (lambda: Lstm(16, 32, 64, 10), (16, 32), 32, 30),
    'Attention block seq 16, dModel 64, 4 heads (FFN 128)': (lambda: Block(16, 64, 4, 128, 10), (16, 64), 32, 30),
    'Conv stem 1×28×28: conv 3×3 ×24, pool, conv ×48, pool, dense 10': (lambda: conv_stem([24, 48], 10), (1, 28, 28), 32, 10),
}


class Case:
    def __init__(self, name):
        make, shape, self.batch, _ = CASES[name]
        self.model = make()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.loss_fn = nn.CrossEntropyLoss()
        self.shape = shape
        self.data = []

    def epoch(self, steps):
        while len(self.data) < steps:
            self.data.append((torch.rand((self.batch, *self.shape)) * 2 - 1, torch.randint(0, 10, (self.batch,))))
        t = time.perf_counter()
        for x, y in self.data[:steps]:
            self.opt.zero_grad(set_to_none=True)
            self.loss_fn(self.model(x), y).backward()
            self.opt.step()
        return time.perf_counter() - t


def serve():
    print(json.dumps({'torch': torch.__version__}), flush=True)
    cases = {}
    for line in sys.stdin:
        name, steps = line.rstrip('\n').split('\t')
        if name not in cases:
            cases[name] = Case(name)
            cases[name].epoch(int(steps))  # warm-up
        print(json.dumps({'seconds': cases[name].epoch(int(steps))}), flush=True)


def once(runs):
    out = {}
    for name, (_, _, batch, steps) in CASES.items():
        case = Case(name)
        case.epoch(steps)
        out[name] = steps * batch / statistics.median(case.epoch(steps) for _ in range(runs))
    print(json.dumps({'torch': torch.__version__, 'samplesPerSecond': out}))


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--once':
        once(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
    else:
        serve()
