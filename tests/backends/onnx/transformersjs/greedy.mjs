#!/usr/bin/env node
// Greedy generation with transformers.js (@huggingface/transformers, the main consumer of the
// published ONNX layout, docs ONNX-LAYOUT.md) on a local model folder, fed exactly the given
// input ids and pixel_values: no tokenizer, no processor, so the only thing under test is whether
// transformers.js loads our graphs and runs its own generation loop on them.
// transformers_compat_test.cpp compares the printed tokens with the goldens and with vlmrt.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

const help = `usage: node tests/backends/onnx/transformersjs/greedy.mjs --model DIR --input-ids IDS
       [--pixel-values FILE.npy] [--pixel-attention-mask FILE.npy] [--max-new-tokens N]
       [--dtype fp32|fp16|int8|q4|...] [--logits-out FILE.npy] [--transformers-dir DIR]

Loads DIR (config.json, generation_config.json, onnx/{vision_encoder,embed_tokens,
decoder_model_merged}[_SUFFIX].onnx) with transformers.js from local files only, runs greedy
generate() on one sequence and prints the new token ids as one JSON array on the last line of
stdout. End-of-sequence tokens do not stop generation (ignore_eos), so exactly N ids are printed.

options:
  --model DIR                  model folder in the published ONNX layout (our export)
  --input-ids IDS              prompt token ids, comma-separated, image tokens already expanded
  --pixel-values FILE          float32 .npy [frames, 3, H, W] (one sample; fed as [1, frames, 3, H, W])
  --pixel-attention-mask FILE  bool/uint8 .npy [frames, H, W] (default: all ones)
  --max-new-tokens N           tokens to generate (default: 24)
  --dtype D                    transformers.js dtype for every graph; picks onnx/NAME_SUFFIX.onnx
                               (fp32: none, fp16, int8, q4, q8: _quantized; default: fp32)
  --logits-out FILE            also write the logits each step chose from, float32 .npy
                               [max_new_tokens, vocab] (last position, before any processor)
  --transformers-dir DIR       npm prefix holding @huggingface/transformers
                               (default: third_party/transformersjs; scripts/fetch_transformersjs)

example:
  node tests/backends/onnx/transformersjs/greedy.mjs --model /tmp/exports/tiny-smolvlm-fp32 \\
    --input-ids 1,55,85,438,438 --pixel-values pixel_values.npy --max-new-tokens 24
`;

function fail(message) {
  process.stderr.write(`greedy.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    model: null,
    'input-ids': null,
    'pixel-values': null,
    'pixel-attention-mask': null,
    'max-new-tokens': '24',
    dtype: 'fp32',
    'logits-out': null,
    'transformers-dir': join(root, 'third_party', 'transformersjs'),
  };
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(help);
      process.exit(0);
    }
    const key = arg.startsWith('--') ? arg.slice(2) : null;
    if (!key || !(key in options)) fail(`unknown argument '${arg}' (see --help)`);
    if (i + 1 >= argv.length) fail(`${arg} needs a value (see --help)`);
    options[key] = argv[++i];
  }
  if (!options.model) fail('--model is required (see --help)');
  if (!options['input-ids']) fail('--input-ids is required (see --help)');
  return options;
}

// The .npy format (numpy's format.py): magic, version, little-endian header length, a Python
// dict literal header, then the raw C-order data.
function readNpy(file) {
  const bytes = readFileSync(file);
  const magic = '\x93NUMPY';
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== magic) fail(`${file}: not a .npy file`);
  const major = bytes[6];
  const lengthBytes = major === 1 ? 2 : 4;
  const headerLength = lengthBytes === 2 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.length) fail(`${file}: header length ${headerLength} runs past the end`);
  const header = bytes.toString('latin1', 8 + lengthBytes, dataStart);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) fail(`${file}: unreadable header ${header}`);
  if (fortran === 'True') fail(`${file}: Fortran-order arrays are not supported`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const itemSize = { '<f4': 4, '|b1': 1, '|u1': 1, '<i8': 8 }[descr];
  if (!itemSize) fail(`${file}: dtype ${descr} is not supported (want <f4, |b1, |u1 or <i8)`);
  if (dataStart + count * itemSize !== bytes.length)
    fail(`${file}: shape [${shape}] needs ${count * itemSize} bytes, found ${bytes.length - dataStart}`);
  const data = bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + bytes.length);
  return { descr, shape, data };
}

function writeNpy(file, rows) {
  const vocab = rows.length ? rows[0].length : 0;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${vocab}), }`;
  // Version 1.0: magic (6) + version (2) + length (2) + header padded to a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  const data = new Float32Array(rows.length * vocab);
  rows.forEach((row, i) => data.set(row, i * vocab));
  writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(data.buffer)]));
}

async function loadTransformers(prefix) {
  const entry = join(prefix, 'node_modules', '@huggingface', 'transformers', 'dist', 'transformers.node.mjs');
  if (!existsSync(entry)) fail(`${entry} is missing: run scripts/setup (or scripts/fetch_transformersjs)`);
  return await import(pathToFileURL(entry).href);
}

const options = parseArgs(process.argv.slice(2));
const maxNewTokens = Number(options['max-new-tokens']);
if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) fail('--max-new-tokens must be a positive integer');
const ids = options['input-ids'].split(',').map((s) => s.trim());
if (ids.some((s) => !/^\d+$/.test(s))) fail(`--input-ids must be comma-separated integers`);

// transformers.js and ONNX Runtime report refusals (a missing file, an input it does not feed, a
// shape it rejects) as exceptions: one line on stderr and a nonzero exit, for the test to show.
try {
  const tjs = await loadTransformers(options['transformers-dir']);
  const { AutoModelForImageTextToText, Tensor, env } = tjs;
  const modelDir = resolve(options.model);
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(modelDir);

  const model = await AutoModelForImageTextToText.from_pretrained(basename(modelDir), {
    dtype: options.dtype,
    device: 'cpu',
    local_files_only: true,
    // One thread: the tests run next to others on a small machine.
    session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });

  const inputs = {
    input_ids: new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    attention_mask: new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
  };
  if (options['pixel-values']) {
    const pixels = readNpy(options['pixel-values']);
    if (pixels.descr !== '<f4' || pixels.shape.length !== 4)
      fail(`${options['pixel-values']}: want float32 [frames, 3, H, W], got ${pixels.descr} [${pixels.shape}]`);
    const [frames, channels, height, width] = pixels.shape;
    inputs.pixel_values = new Tensor('float32', new Float32Array(pixels.data), [1, frames, channels, height, width]);
    let mask = new Uint8Array(frames * height * width).fill(1);
    if (options['pixel-attention-mask']) {
      const given = readNpy(options['pixel-attention-mask']);
      const want = [frames, height, width].join(',');
      if (given.descr === '<f4' || given.descr === '<i8' || given.shape.join(',') !== want)
        fail(`${options['pixel-attention-mask']}: want bool [${want}], got ${given.descr} [${given.shape}]`);
      mask = new Uint8Array(given.data);
    }
    inputs.pixel_attention_mask = new Tensor('bool', mask, [1, frames, height, width]);
  }

  // Records the logits each greedy choice was made from (no other processor runs: greedy,
  // repetition_penalty 1, no EOS handling).
  const rows = [];
  class LogitsRecorder extends tjs.LogitsProcessor {
    _call(input_ids, logits) {
      rows.push(Float32Array.from(logits.data));
      return logits;
    }
  }

  const sequences = await model.generate({
    ...inputs,
    max_new_tokens: maxNewTokens,
    do_sample: false,
    num_beams: 1,
    repetition_penalty: 1.0,
    // vlmrt's goldens run past end-of-sequence (ignore_eos); without an EOS id transformers.js
    // adds no EosTokenCriteria and stops at the token budget only.
    eos_token_id: null,
    logits_processor: options['logits-out'] ? [new LogitsRecorder()] : null,
  });
  const all = sequences.tolist()[0].map(Number);
  if (all.length !== ids.length + maxNewTokens)
    fail(`generate() returned ${all.length - ids.length} new tokens, expected ${maxNewTokens}`);
  if (options['logits-out']) writeNpy(options['logits-out'], rows);
  process.stdout.write(`${JSON.stringify(all.slice(ids.length))}\n`);
  await model.dispose();
} catch (error) {
  process.stderr.write(`greedy.mjs: transformers.js failed on ${options.model}: ${error?.stack ?? error}\n`);
  process.exit(1);
}
