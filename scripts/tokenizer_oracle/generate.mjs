#!/usr/bin/env node
// Writes tests/tokenizer/data/expected/<name>.json: what Hugging Face's Rust `tokenizers`
// (through @anush008/tokenizers) gives for every corpus case, for every tokenizer the tests
// know. tests/tokenizer/oracle_parity_test.cpp requires vlmrt's tokenizer to give the same.
//
// Run through scripts/regenerate_tokenizer_expectations, which installs the oracle first.
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, relative } from 'node:path';
import { listTokenizers, loadOracle, oracleVersion, parseArgs, readCorpus, root } from './common.mjs';

const help = `usage: node scripts/tokenizer_oracle/generate.mjs [options] [NAME...]

Encodes every case of the corpus with each tokenizer (with and without special tokens) and
decodes the ids (skip_special_tokens false and true) with Hugging Face's Rust tokenizers, writing
one expectation file per tokenizer. NAMEs limit the run to those tokenizers (e.g. gemma3 smolvlm).

options:
  --corpus FILE          corpus (default: tests/tokenizer/data/corpus.json)
  --out-dir DIR          where <name>.json goes (default: tests/tokenizer/data/expected)
  --tokenizers-dir DIR   fetched tokenizers (default: third_party/tokenizers)
  --shared-data DIR      shared data folder with SmolVLM-256M-Instruct/ (default: ../shared/data)
  --oracle-dir DIR       npm prefix holding ${oracleVersion} (default: third_party/tokenizer-oracle)

example:
  node scripts/tokenizer_oracle/generate.mjs gemma3
`;

const { options, positional } = parseArgs(process.argv.slice(2), {
  help,
  defaults: {
    corpus: join(root, 'tests/tokenizer/data/corpus.json'),
    'out-dir': join(root, 'tests/tokenizer/data/expected'),
    'tokenizers-dir': join(root, 'third_party/tokenizers'),
    'shared-data': join(root, '..', 'shared', 'data'),
    'oracle-dir': join(root, 'third_party/tokenizer-oracle'),
  },
});

const { Tokenizer } = loadOracle(options['oracle-dir']);
const corpusText = readFileSync(options.corpus);
const corpusSha = createHash('sha256').update(corpusText).digest('hex');
const rawCases = JSON.parse(corpusText.toString('utf8')).cases;
const cases = readCorpus(options.corpus);

let tokenizers = listTokenizers(options['tokenizers-dir'], options['shared-data']);
if (positional.length) {
  const unknown = positional.filter((n) => !tokenizers.some((t) => t.name === n));
  if (unknown.length) {
    process.stderr.write(`generate: no tokenizer named ${unknown.join(', ')} ` +
                         `(have: ${tokenizers.map((t) => t.name).join(', ')})\n`);
    process.exit(2);
  }
  tokenizers = tokenizers.filter((t) => positional.includes(t.name));
}
if (!tokenizers.length) {
  process.stderr.write('generate: no tokenizers found; run scripts/fetch_test_tokenizers\n');
  process.exit(1);
}

// Byte length of what the C++ side passes to encode(): the raw bytes for bytes_b64 cases.
function inputBytes(raw) {
  return raw.bytes_b64 !== undefined ? Buffer.from(raw.bytes_b64, 'base64').length
                                     : Buffer.byteLength(raw.text, 'utf8');
}

mkdirSync(options['out-dir'], { recursive: true });
for (const { name, file, source } of tokenizers) {
  const started = Date.now();
  const tokenizer = Tokenizer.fromFile(file);
  const lines = [];
  for (let i = 0; i < cases.length; ++i) {
    const { id, text } = cases[i];
    const entry = { id, n: inputBytes(rawCases[i]) };
    // Decoded texts equal to the input are left out to keep the file small (not for bytes_b64
    // cases: their input is not text, so the reader could not tell what the text would be).
    const isText = rawCases[i].text !== undefined;
    const put = (key, value) => {
      if (!isText || value !== text) entry[key] = value;
    };
    const withSpecial = (await tokenizer.encode(text, null, { addSpecialTokens: true })).getIds();
    const withoutSpecial = (await tokenizer.encode(text, null, { addSpecialTokens: false })).getIds();
    entry.ids = withSpecial;
    put('text', await tokenizer.decode(withSpecial, false));
    put('text_skip', await tokenizer.decode(withSpecial, true));
    // Tokenizers without a template post-processor give the same ids either way.
    if (withoutSpecial.length !== withSpecial.length || withoutSpecial.some((v, k) => v !== withSpecial[k])) {
      entry.ids_no_special = withoutSpecial;
    }
    put('text_no_special', await tokenizer.decode(withoutSpecial, false));
    put('text_no_special_skip', await tokenizer.decode(withoutSpecial, true));
    lines.push(JSON.stringify(entry));
  }
  const header = {
    tokenizer: name,
    tokenizer_file: relative(root, file),
    tokenizer_source: source,
    tokenizer_bytes: statSync(file).size,
    oracle: `${oracleVersion} (Hugging Face tokenizers 0.22, Rust)`,
    corpus_sha256: corpusSha,
    note: 'ids: encode(add_special_tokens=true); ids_no_special: add_special_tokens=false; ' +
          'text*: decode of those ids (skip_special_tokens false / _skip true); ' +
          'an absent ids_no_special equals ids; an absent text* field equals the input text (always present for bytes_b64 cases)',
  };
  const body = JSON.stringify(header).slice(0, -1) + ',"cases":[\n' + lines.join(',\n') + '\n]}\n';
  const out = join(options['out-dir'], `${name}.json`);
  writeFileSync(out, body);
  process.stderr.write(`[generate] ${name}: ${cases.length} cases -> ${relative(root, out)} ` +
                       `(${(Buffer.byteLength(body) / 1024).toFixed(0)} KiB, ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
