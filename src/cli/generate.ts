import { LoomError } from '../engine/errors.js';
import { loadTokenizer, loadTransformerFolder, type TextTokenizer } from '../engine/io/hf-folder.js';
import { generate } from '../engine/transformer/generate.js';
import { intOption, parseCommandArgs } from './args.js';
import type { Command } from './shared.js';

const help = `usage: loom generate --model DIR (--prompt-ids 1,2,3 | --prompt "text") [--max-new-tokens 32]
                     [--temperature 0] [--top-k 0] [--top-p 1] [--seed 0] [--stop-id ID] [--json] [--no-cache]

Continues a prompt with a Llama-architecture checkpoint (llama, mistral, qwen2) in a Hugging Face model folder:
config.json plus model.safetensors or sharded model-*.safetensors with model.safetensors.index.json (F32, F16, BF16).
Greedy by default; a temperature above 0 samples (seeded), after top-k and top-p filtering. A key/value cache keeps
the cost of each new token from growing with the recomputed sequence.

  --model DIR            the model folder
  --prompt-ids IDS       comma-separated token ids
  --prompt TEXT          text, tokenized with the folder's tokenizer.json (needs one)
  --max-new-tokens N     tokens to generate (default 32)
  --temperature T        0 = greedy (default); above 0 samples from softmax(logits / T)
  --top-k K              sample among the K most likely tokens only (0 = all, default)
  --top-p P              sample among the most likely tokens whose probability reaches P (default 1)
  --seed N               seed of the sampling stream (default 0)
  --stop-id ID           stop after this token (e.g. the end-of-sequence id)
  --json                 print {"prompt": [...], "generated": [...], "text"?: "..."} as JSON
  --no-cache             recompute the whole sequence for every token (slow; for checks)`;

function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new LoomError('LOOM_ERR_USAGE', `--${name} must be a number, got "${value}"`);
  return n;
}

function parseIds(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  return parts.map((p) => {
    const n = Number(p);
    if (p === '' || !Number.isInteger(n)) throw new LoomError('LOOM_ERR_USAGE', `--prompt-ids must be comma-separated integers, got "${p}" in "${text}"`);
    return n;
  });
}

export const command: Command = {
  name: 'generate',
  help,
  async run(argv) {
    const { values } = parseCommandArgs(
      'generate',
      argv,
      {
        model: { type: 'string' },
        'prompt-ids': { type: 'string' },
        prompt: { type: 'string' },
        'max-new-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'top-k': { type: 'string' },
        'top-p': { type: 'string' },
        seed: { type: 'string' },
        'stop-id': { type: 'string' },
        json: { type: 'boolean' },
        'no-cache': { type: 'boolean' },
      },
      false,
    );
    if (!values.model) throw new LoomError('LOOM_ERR_USAGE', 'loom generate needs --model DIR (see loom generate --help)');
    if ((values['prompt-ids'] === undefined) === (values.prompt === undefined)) {
      throw new LoomError('LOOM_ERR_USAGE', 'loom generate needs exactly one of --prompt-ids and --prompt');
    }
    const checkpoint = loadTransformerFolder(values.model);
    let tokenizer: TextTokenizer | undefined;
    let prompt: number[];
    if (values.prompt !== undefined) {
      if (!checkpoint.tokenizerPath) throw new LoomError('LOOM_ERR_USAGE', `${values.model} has no tokenizer.json: use --prompt-ids`);
      tokenizer = await loadTokenizer(checkpoint.tokenizerPath);
      prompt = tokenizer.encode(values.prompt);
    } else prompt = parseIds(values['prompt-ids'] ?? '');
    const stopToken = intOption('stop-id', values['stop-id']);
    const generated = generate(checkpoint, prompt, {
      maxNewTokens: intOption('max-new-tokens', values['max-new-tokens'], 0, 100_000) ?? 32,
      temperature: numberOption('temperature', values.temperature) ?? 0,
      topK: intOption('top-k', values['top-k']) ?? 0,
      topP: numberOption('top-p', values['top-p']) ?? 1,
      seed: intOption('seed', values.seed, 0, 2 ** 32 - 1) ?? 0,
      cache: !values['no-cache'],
      ...(stopToken === undefined ? {} : { stopToken }),
    });
    const text = tokenizer?.decode(generated);
    if (values.json) console.log(JSON.stringify({ prompt, generated, ...(text === undefined ? {} : { text }) }));
    else console.log(text ?? generated.join(','));
    return 0;
  },
};
