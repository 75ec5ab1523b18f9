// Shared by generate.mjs and bench.mjs: where the oracle and the tokenizers live, the corpus
// reader and the tiny option parser.
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const oracleVersion = '@anush008/tokenizers@0.6.0';

// The oracle is installed outside the repository (scripts/regenerate_tokenizer_expectations),
// so it is loaded by path rather than by a bare import.
export function loadOracle(oracleDir) {
  const manifest = join(oracleDir, 'package.json');
  if (!existsSync(join(oracleDir, 'node_modules', '@anush008', 'tokenizers'))) {
    throw new Error(`${oracleVersion} is not installed in ${oracleDir}; ` +
                    'run scripts/regenerate_tokenizer_expectations (it installs it)');
  }
  return createRequire(manifest)('@anush008/tokenizers');
}

// Every tokenizer the tests know: third_party/tokenizers/<name>/tokenizer.json (from
// scripts/fetch_test_tokenizers) plus SmolVLM's from the shared data folder when present.
export function listTokenizers(tokenizersDir, sharedData) {
  const found = [];
  if (existsSync(tokenizersDir)) {
    for (const name of readdirSync(tokenizersDir).sort()) {
      const file = join(tokenizersDir, name, 'tokenizer.json');
      if (!existsSync(file)) continue;
      const stamp = join(tokenizersDir, name, '.installed-from');
      const source = existsSync(stamp) ? readFileSync(stamp, 'utf8').trim() : 'unknown';
      found.push({ name, file, source });
    }
  }
  const smol = join(sharedData, 'SmolVLM-256M-Instruct', 'tokenizer.json');
  if (existsSync(smol)) {
    found.push({ name: 'smolvlm', file: smol, source: 'HuggingFaceTB/SmolVLM-256M-Instruct' });
  }
  return found;
}

// Corpus cases as JS strings. bytes_b64 cases are decoded lossily (U+FFFD per maximal invalid
// subpart, as Rust's String::from_utf8_lossy); ignoreBOM keeps a leading U+FEFF as text.
export function readCorpus(corpusPath) {
  const corpus = JSON.parse(readFileSync(corpusPath, 'utf8'));
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return corpus.cases.map((c) => {
    if (typeof c.text === 'string') return { id: c.id, text: c.text };
    if (typeof c.bytes_b64 === 'string') {
      return { id: c.id, text: decoder.decode(Buffer.from(c.bytes_b64, 'base64')) };
    }
    throw new Error(`${corpusPath}: case '${c.id}' has neither 'text' nor 'bytes_b64'`);
  });
}

// --name value / --flag options; returns { options, positional }.
export function parseArgs(argv, spec) {
  const options = { ...spec.defaults };
  const positional = [];
  for (let i = 0; i < argv.length; ++i) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(spec.help);
      process.exit(0);
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const key = arg.slice(2);
    if (!(key in spec.defaults)) {
      process.stderr.write(`unknown option '${arg}' (see --help)\n`);
      process.exit(2);
    }
    if (typeof spec.defaults[key] === 'boolean') {
      options[key] = true;
    } else {
      if (i + 1 >= argv.length) {
        process.stderr.write(`option '${arg}' needs a value\n`);
        process.exit(2);
      }
      options[key] = argv[++i];
    }
  }
  return { options, positional };
}
