#include "golden_cases.hpp"

#include <algorithm>
#include <cctype>

#include "core/json.hpp"
#include "test_support.hpp"

namespace vlmrt::testing {

namespace fs = std::filesystem;

namespace {

std::vector<std::int32_t> int_list(const json::Json& value) {
  std::vector<std::int32_t> out;
  if (value.is_null()) return out;
  for (const auto& item : value) out.push_back(item.get<std::int32_t>());
  return out;
}

}  // namespace

npy::Array<float> GoldenCase::array(const std::string& array_name) const {
  return npy::read_f32(dir / (array_name + ".npy"));
}

std::filesystem::path golden_fixture_dir(const std::string& fixture) {
  return source_dir() / "tests" / "fixtures" / "models" / fixture;
}

std::vector<std::string> golden_fixtures() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(source_dir() / "tests" / "fixtures" / "models"))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

GoldenCase load_golden_case(const std::string& fixture, const std::string& name) {
  GoldenCase golden;
  golden.fixture = fixture;
  golden.name = name;
  golden.model_dir = golden_fixture_dir(fixture);
  golden.dir = golden.model_dir / "goldens" / name;
  const json::Json spec = json::read_file(golden.dir / "case.json");
  golden.dtype = spec.at("dtype").get<std::string>();
  golden.prompt = spec.at("prompt").get<std::string>();
  golden.chat = spec.at("chat").get<bool>();
  for (const auto& image : spec.at("images")) golden.images.push_back(image.get<std::string>());
  golden.input_ids = int_list(spec.at("input_ids"));
  golden.token_type_ids = int_list(spec.at("token_type_ids"));
  golden.tokens = int_list(spec.at("tokens"));
  golden.eos_token_ids = int_list(spec.at("eos_token_ids"));
  golden.ignore_eos = spec.at("ignore_eos").get<bool>();
  return golden;
}

std::vector<GoldenCase> golden_cases() {
  std::vector<GoldenCase> cases;
  for (const auto& fixture : golden_fixtures()) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(golden_fixture_dir(fixture) / "goldens"))
      if (entry.is_directory()) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) cases.push_back(load_golden_case(fixture, name));
  }
  return cases;
}

std::string case_test_name(const std::string& fixture, const std::string& name) {
  std::string out = fixture + "_" + name;
  std::replace_if(
      out.begin(), out.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return out;
}

}  // namespace vlmrt::testing
