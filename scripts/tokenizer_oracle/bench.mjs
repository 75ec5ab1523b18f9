#!/usr/bin/env node
// The Rust side of scripts/bench_tokenizer: load time of each tokenizer.json and single-threaded
// encode throughput of Hugging Face's `tokenizers` (through @anush008/tokenizers) on the same
// text bench/tokenizer_bench.cpp uses (benchText below mirrors bench_text() there).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { listTokenizers, loadOracle, parseArgs, root } from './common.mjs';

const help = `usage: node scripts/tokenizer_oracle/bench.mjs [options] [NAME...]

Measures, for each tokenizer (or the NAMEs given): median load time of tokenizer.json and encode
throughput (MB/s, add_special_tokens=true, one string) on the bench text: every text case of the
corpus joined by "\\n", repeated until it reaches 1 MiB. Set RAYON_NUM_THREADS=1 for one thread
(scripts/bench_tokenizer does).

options:
  --corpus FILE          corpus (default: tests/tokenizer/data/corpus.json)
  --tokenizers-dir DIR   fetched tokenizers (default: third_party/tokenizers)
  --shared-data DIR      shared data folder with SmolVLM-256M-Instruct/ (default: ../shared/data)
  --oracle-dir DIR       npm prefix holding the oracle (default: third_party/tokenizer-oracle)
  --min-seconds S        time spent per measurement (default: 2)
  --json                 print one JSON object instead of a table

example:
  RAYON_NUM_THREADS=1 node scripts/tokenizer_oracle/bench.mjs gemma3 qwen3
`;

const { options, positional } = parseArgs(process.argv.slice(2), {
  help,
  defaults: {
    corpus: join(root, 'tests/tokenizer/data/corpus.json'),
    'tokenizers-dir': join(root, 'third_party/tokenizers'),
    'shared-data': join(root, '..', 'shared', 'data'),
    'oracle-dir': join(root, 'third_party/tokenizer-oracle'),
    'min-seconds': '2',
    json: false,
  },
});

export function benchText(corpusPath) {
  const cases = JSON.parse(readFileSync(corpusPath, 'utf8')).cases;
  const unit = cases.filter((c) => typeof c.text === 'string').map((c) => c.text).join('\n');
  let text = unit;
  while (Buffer.byteLength(text, 'utf8') < 1 << 20) text += '\n' + unit;
  return text;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const { Tokenizer } = loadOracle(options['oracle-dir']);
const minSeconds = Number(options['min-seconds']);
const text = benchText(options.corpus);
const textBytes = Buffer.byteLength(text, 'utf8');
let tokenizers = listTokenizers(options['tokenizers-dir'], options['shared-data']);
if (positional.length) tokenizers = tokenizers.filter((t) => positional.includes(t.name));

const results = [];
for (const { name, file } of tokenizers) {
  const loads = [];
  let tokenizer = null;
  const loadStart = performance.now();
  while (loads.length < 3 || (performance.now() - loadStart < minSeconds * 1000 && loads.length < 50)) {
    const t0 = performance.now();
    tokenizer = Tokenizer.fromFile(file);
    loads.push(performance.now() - t0);
  }
  // One untimed encode warms the BPE word cache, as the C++ benchmark's first iteration does.
  let tokens = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getLength();
  const encodes = [];
  const encodeStart = performance.now();
  while (encodes.length < 3 || (performance.now() - encodeStart < minSeconds * 1000 && encodes.length < 200)) {
    const t0 = performance.now();
    tokens = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getLength();
    encodes.push(performance.now() - t0);
  }
  const encodeMs = median(encodes);
  const row = {
    name,
    load_ms: median(loads),
    encode_ms: encodeMs,
    encode_mb_per_s: textBytes / 1e6 / (encodeMs / 1000),
    tokens,
    text_bytes: textBytes,
  };
  results.push(row);
  if (!options.json) {
    process.stdout.write(`${name.padEnd(12)} load ${row.load_ms.toFixed(1).padStart(8)} ms   encode ` +
                         `${row.encode_mb_per_s.toFixed(2).padStart(7)} MB/s  (${tokens} tokens, ` +
                         `${(textBytes / 1048576).toFixed(2)} MiB)\n`);
  }
}
if (options.json) process.stdout.write(JSON.stringify({ text_bytes: textBytes, results }) + '\n');
