#include "core/json.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.hpp"

namespace vlmrt {
namespace {

using testing::error_of;

TEST(Json, TypedGettersReadValues) {
  const auto config =
      json::parse(R"({"a": 3, "b": 2.5, "c": "x", "d": true, "e": null, "f": 4.0})", "t.json");
  EXPECT_EQ(json::get<int>(config, "a", "t.json"), 3);
  EXPECT_DOUBLE_EQ(json::get<double>(config, "b", "t.json"), 2.5);
  EXPECT_DOUBLE_EQ(json::get<double>(config, "a", "t.json"), 3.0);  // integers are numbers
  EXPECT_EQ(json::get<std::string>(config, "c", "t.json"), "x");
  EXPECT_TRUE(json::get<bool>(config, "d", "t.json"));
  EXPECT_FALSE(json::get_optional<int>(config, "e", "t.json").has_value());  // null is absent
  EXPECT_EQ(json::get_or<int>(config, "zz", 7, "t.json"), 7);
  EXPECT_EQ(json::get<int>(config, "f", "t.json"), 4);  // 4.0 is an integral number
}

TEST(Json, ErrorsNameTheFileAndTheNestedField) {
  const auto config =
      json::parse(R"({"text_config": {"hidden_size": "576", "heads": 2.5}})", "config.json");
  const auto where = json::child_where("config.json", "text_config");
  EXPECT_EQ(error_of([&] { json::get<int>(config["text_config"], "hidden_size", where); }),
            "format error: config.json: field 'text_config.hidden_size' must be an integer, found "
            "string \"576\"");
  EXPECT_EQ(
      error_of([&] { json::get<int>(config["text_config"], "heads", where); }),
      "format error: config.json: field 'text_config.heads' must be an integer, found number 2.5");
  EXPECT_EQ(error_of([&] { json::get<int>(config["text_config"], "layers", where); }),
            "format error: config.json: field 'text_config.layers' is missing");
  EXPECT_EQ(error_of([&] { json::get<int>(config, "top", "config.json"); }),
            "format error: config.json: field 'top' is missing");
}

TEST(Json, RejectsOutOfRangeIntegers) {
  const auto config = json::parse(R"({"big": 5000000000, "neg": -1})", "t.json");
  EXPECT_NE(error_of([&] { json::get<int>(config, "big", "t.json"); }).find("in range"),
            std::string::npos);
  EXPECT_NE(error_of([&] { json::get<unsigned>(config, "neg", "t.json"); }).find("in range"),
            std::string::npos);
  EXPECT_EQ(json::get<std::int64_t>(config, "big", "t.json"), 5000000000LL);
}

TEST(Json, ReadFileReportsMissingAndMalformedFiles) {
  const auto dir = testing::scratch_dir("json");
  EXPECT_EQ(error_of([&] { json::read_file(dir / "absent.json"); }).rfind("not found: ", 0), 0u);
  std::ofstream(dir / "bad.json") << "{\"a\": 1,,}";
  const auto message = error_of([&] { json::read_file(dir / "bad.json"); });
  EXPECT_EQ(message.rfind("format error: ", 0), 0u);
  EXPECT_NE(message.find("bad.json: invalid JSON at byte"), std::string::npos);
  std::ofstream(dir / "big.json") << "[" << std::string(100, ' ') << "]";
  EXPECT_EQ(error_of([&] { json::read_file(dir / "big.json", 10); }).rfind("limit exceeded: ", 0),
            0u);
}

}  // namespace
}  // namespace vlmrt
