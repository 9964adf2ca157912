#!/usr/bin/python3
"""Writes the tiny Hugging Face-layout transformer checkpoints under test/fixtures/transformers/ and, for each, the
logits and greedy continuations of an independent reference forward pass (written here from the Llama/Qwen2
equations in plain PyTorch, float64, on the weights as stored).

Run once with Debian's python3-torch (`apt-get install python3-torch`): `/usr/bin/python3 scripts/make-transformer-fixtures.py`.
CI does not need torch: the fixtures and expected values are committed.
"""
import json
import math
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'transformers')

DTYPE_NAMES = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16'}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {'dtype': DTYPE_NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def make_weights(cfg, gen, dtype):
    H, I, V = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size']
    heads, kv = cfg['num_attention_heads'], cfg['num_key_value_heads']
    hd = cfg.get('head_dim', H // heads)
    rnd = lambda *shape, std=0.2: (torch.randn(*shape, generator=gen, dtype=torch.float64) * std).to(dtype)
    w = {'model.embed_tokens.weight': rnd(V, H, std=0.5)}
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        w[p + 'input_layernorm.weight'] = (1 + rnd(H, std=0.1).double()).to(dtype)
        w[p + 'self_attn.q_proj.weight'] = rnd(heads * hd, H)
        w[p + 'self_attn.k_proj.weight'] = rnd(kv * hd, H)
        w[p + 'self_attn.v_proj.weight'] = rnd(kv * hd, H)
        if cfg.get('attention_bias', False) or cfg['model_type'] == 'qwen2':
            w[p + 'self_attn.q_proj.bias'] = rnd(heads * hd, std=0.1)
            w[p + 'self_attn.k_proj.bias'] = rnd(kv * hd, std=0.1)
            w[p + 'self_attn.v_proj.bias'] = rnd(kv * hd, std=0.1)
        w[p + 'self_attn.o_proj.weight'] = rnd(H, heads * hd)
        w[p + 'post_attention_layernorm.weight'] = (1 + rnd(H, std=0.1).double()).to(dtype)
        w[p + 'mlp.gate_proj.weight'] = rnd(I, H)
        w[p + 'mlp.up_proj.weight'] = rnd(I, H)
        w[p + 'mlp.down_proj.weight'] = rnd(H, I)
    w['model.norm.weight'] = (1 + rnd(H, std=0.1).double()).to(dtype)
    if not cfg['tie_word_embeddings']:
        w['lm_head.weight'] = rnd(V, H, std=0.5)
    return w


def rms(x, weight, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def reference_logits(cfg, w, ids):
    """The Llama/Qwen2 decoder in float64: RMSNorm, GQA attention with rotate-half RoPE, SwiGLU MLP, final norm, head."""
    w = {k: v.double() for k, v in w.items()}
    H, heads, kv = cfg['hidden_size'], cfg['num_attention_heads'], cfg['num_key_value_heads']
    hd = cfg.get('head_dim', H // heads)
    eps, theta = cfg['rms_norm_eps'], cfg['rope_theta']
    T = len(ids)
    h = w['model.embed_tokens.weight'][torch.tensor(ids)]
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]
    mask = torch.full((T, T), float('-inf'), dtype=torch.float64).triu(1)
    for i in range(cfg['num_hidden_layers']):
        p = f'model.layers.{i}.'
        x = rms(h, w[p + 'input_layernorm.weight'], eps)
        proj = lambda name: x @ w[p + f'self_attn.{name}_proj.weight'].T + w.get(p + f'self_attn.{name}_proj.bias', 0)
        q = proj('q').view(T, heads, hd)
        k = proj('k').view(T, kv, hd)
        v = proj('v').view(T, kv, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv, dim=1)
        v = v.repeat_interleave(heads // kv, dim=1)
        scores = torch.einsum('qhd,khd->hqk', q, k) / math.sqrt(hd) + mask
        attn = torch.einsum('hqk,khd->qhd', scores.softmax(-1), v).reshape(T, heads * hd)
        h = h + attn @ w[p + 'self_attn.o_proj.weight'].T
        x = rms(h, w[p + 'post_attention_layernorm.weight'], eps)
        gate = x @ w[p + 'mlp.gate_proj.weight'].T
        up = x @ w[p + 'mlp.up_proj.weight'].T
        h = h + (torch.nn.functional.silu(gate) * up) @ w[p + 'mlp.down_proj.weight'].T
    h = rms(h, w['model.norm.weight'], eps)
    head = w['model.embed_tokens.weight'] if cfg['tie_word_embeddings'] else w['lm_head.weight']
    return h @ head.T


def greedy(cfg, w, prompt, n):
    ids = list(prompt)
    for _ in range(n):
        last = reference_logits(cfg, w, ids)[-1]
        top2 = torch.topk(last, 2).values
        assert float(top2[0] - top2[1]) > 1e-3, 'near-tie in the greedy continuation: pick another seed'
        ids.append(int(last.argmax()))
    return ids[len(prompt):]


def write_fixture(name, cfg, dtype, seed, shards=1, prompts=((1, 5, 9, 2), (3, 3, 7)), tokenizer=None):
    gen = torch.Generator().manual_seed(seed)
    w = make_weights(cfg, gen, dtype)
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    with open(os.path.join(d, 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    names = list(w.keys())
    if shards == 1:
        write_safetensors(os.path.join(d, 'model.safetensors'), w)
    else:
        per = math.ceil(len(names) / shards)
        weight_map = {}
        for s in range(shards):
            file = f'model-{s + 1:05d}-of-{shards:05d}.safetensors'
            part = {n: w[n] for n in names[s * per:(s + 1) * per]}
            write_safetensors(os.path.join(d, file), part)
            weight_map.update({n: file for n in part})
        total = sum(t.numel() * t.element_size() for t in w.values())
        with open(os.path.join(d, 'model.safetensors.index.json'), 'w') as f:
            json.dump({'metadata': {'total_size': total}, 'weight_map': weight_map}, f, indent=2)
    if tokenizer is not None:
        with open(os.path.join(d, 'tokenizer.json'), 'w') as f:
            json.dump(tokenizer, f, indent=2)
    expected = {
        'source': 'scripts/make-transformer-fixtures.py (float64 PyTorch reference on the stored weights)',
        'sequences': [{'ids': list(p), 'logits': reference_logits(cfg, w, list(p)).tolist()} for p in prompts],
        'greedy': [{'prompt': list(p), 'newTokens': 6, 'ids': greedy(cfg, w, p, 6)} for p in prompts],
    }
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(expected, f)
    print(name, sum(t.numel() for t in w.values()), 'parameters')


def word_tokenizer(vocab_size):
    words = ['<unk>', '<s>'] + ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'to', 'red', 'big', 'hat'] + [f'w{i}' for i in range(vocab_size)]
    vocab = {w: i for i, w in enumerate(words[:vocab_size])}
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [{'id': 0, 'content': '<unk>', 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}],
        'normalizer': None,
        'pre_tokenizer': {'type': 'Whitespace'},
        'post_processor': None,
        'decoder': None,
        'model': {'type': 'WordLevel', 'vocab': vocab, 'unk_token': '<unk>'},
    }


def base_config(model_type, **over):
    cfg = {
        'architectures': ['LlamaForCausalLM' if model_type == 'llama' else 'Qwen2ForCausalLM'],
        'model_type': model_type,
        'hidden_size': 32,
        'intermediate_size': 48,
        'num_hidden_layers': 2,
        'num_attention_heads': 4,
        'num_key_value_heads': 2,
        'rms_norm_eps': 1e-5,
        'rope_theta': 10000.0,
        'vocab_size': 40,
        'max_position_embeddings': 64,
        'tie_word_embeddings': False,
        'torch_dtype': 'float32',
    }
    cfg.update(over)
    return cfg


if __name__ == '__main__':
    torch.manual_seed(0)
    write_fixture('llama-gqa', base_config('llama', attention_bias=False), torch.float32, seed=1, tokenizer=word_tokenizer(40))
    write_fixture('qwen2-bf16-tied', base_config('qwen2', tie_word_embeddings=True, torch_dtype='bfloat16', rope_theta=1000000.0, rms_norm_eps=1e-6,
                                                  num_key_value_heads=1), torch.bfloat16, seed=2)
    write_fixture('llama-f16-sharded', base_config('llama', torch_dtype='float16', num_key_value_heads=4, num_hidden_layers=3), torch.float16, seed=3, shards=2)
