// Tokenizer load time and single-threaded encode throughput for every test tokenizer
// (third_party/tokenizers/<name>/ from scripts/fetch_test_tokenizers, plus SmolVLM's from the
// shared data folder). scripts/bench_tokenizer runs this next to the same measurements of the
// Rust `tokenizers` library (scripts/tokenizer_oracle/bench.mjs) on the same text.
//
// Run: build/bench/vlmrt_tokenizer_bench --benchmark_filter=Encode/gemma3
// Environment: VLMRT_TOKENIZERS_DIR, VLMRT_SHARED_DATA_DIR override the folders searched.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/tokenizer.hpp"

namespace {

namespace fs = std::filesystem;
using vlmrt::tok::Tokenizer;

// The repository root, from this file's own path (bench/ sits at the root).
fs::path source_dir() {
  return fs::path(__FILE__).parent_path().parent_path();
}

fs::path env_or(const char* name, const fs::path& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? fs::path(value) : fallback;
}

struct Entry {
  std::string name;
  fs::path file;
};

std::vector<Entry> find_tokenizers() {
  const fs::path dir = env_or("VLMRT_TOKENIZERS_DIR", source_dir() / "third_party/tokenizers");
  const fs::path shared = env_or("VLMRT_SHARED_DATA_DIR", source_dir() / "../shared/data");
  std::vector<Entry> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (fs::exists(entry.path() / "tokenizer.json"))
      found.push_back({entry.path().filename().string(), entry.path() / "tokenizer.json"});
  std::sort(found.begin(), found.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  const fs::path smol = shared / "SmolVLM-256M-Instruct/tokenizer.json";
  if (fs::exists(smol)) found.push_back({"smolvlm", smol});
  return found;
}

// Every text case of the corpus joined by "\n", repeated until it reaches 1 MiB — the same text
// as benchText() in scripts/tokenizer_oracle/bench.mjs.
const std::string& bench_text() {
  static const std::string text = [] {
    std::ifstream in(source_dir() / "tests/tokenizer/data/corpus.json");
    std::stringstream content;
    content << in.rdbuf();
    const auto corpus = nlohmann::json::parse(content.str());
    std::string unit;
    bool first = true;
    for (const auto& c : corpus.at("cases")) {
      if (!c.contains("text")) continue;
      if (!first) unit += '\n';
      unit += c.at("text").get<std::string>();
      first = false;
    }
    std::string out = unit;
    while (out.size() < (1u << 20)) out += '\n' + unit;
    return out;
  }();
  return text;
}

const Tokenizer& cached(const Entry& entry) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[entry.name];
  if (!slot) slot = std::make_unique<Tokenizer>(Tokenizer::from_file(entry.file));
  return *slot;
}

void bm_load(benchmark::State& state, const Entry& entry) {
  for (auto _ : state) {
    Tokenizer tokenizer = Tokenizer::from_file(entry.file);
    benchmark::DoNotOptimize(tokenizer.vocab_size());
  }
}

void bm_encode(benchmark::State& state, const Entry& entry) {
  const Tokenizer& tokenizer = cached(entry);
  const std::string& text = bench_text();
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tokenizer.encode(text, true);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  const auto tokenizers = find_tokenizers();
  if (tokenizers.empty()) {
    std::fprintf(stderr, "no tokenizers found: run scripts/fetch_test_tokenizers\n");
    return 1;
  }
  for (const auto& entry : tokenizers) {
    benchmark::RegisterBenchmark(("Load/" + entry.name).c_str(), bm_load, entry)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Encode/" + entry.name).c_str(), bm_encode, entry)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
