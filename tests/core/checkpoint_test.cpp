// Checkpoints: finding the weights in a model folder, sharded sets tied by an index, and the
// index's consistency with its shards.
#include <gtest/gtest.h>

#include "core/safetensors.hpp"
#include "safetensors_test_helpers.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

// Writes a shard holding U8 tensors of `size` bytes each, filled with `fill`.
void write_shard(const fs::path& path, const std::vector<std::string>& names, std::int64_t size = 4,
                 int fill = 1) {
  SafetensorsWriter writer;
  for (const auto& name : names)
    writer.add(name, DType::U8, {size}, std::vector<std::byte>(size, static_cast<std::byte>(fill)));
  writer.write(path);
}

std::string index_json(const std::vector<std::pair<std::string, std::string>>& weight_map) {
  std::string text = R"({"metadata":{"total_size":12},"weight_map":{)";
  for (std::size_t i = 0; i < weight_map.size(); ++i) {
    if (i > 0) text += ',';
    text += '"';
    text += weight_map[i].first;
    text += R"(":")";
    text += weight_map[i].second;
    text += '"';
  }
  return text + "}}";
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::scratch_dir("checkpoint");
    write_shard(dir_ / "model-00001-of-00003.safetensors", {"embed", "layer.0"}, 4, 1);
    write_shard(dir_ / "model-00002-of-00003.safetensors", {"layer.1"}, 6, 2);
    write_shard(dir_ / "model-00003-of-00003.safetensors", {"head"}, 8, 3);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_index(const std::vector<std::pair<std::string, std::string>>& weight_map) {
    testing::write_file(dir_ / "model.safetensors.index.json", index_json(weight_map));
  }
  void write_good_index() {
    write_index({{"embed", "model-00001-of-00003.safetensors"},
                 {"layer.0", "model-00001-of-00003.safetensors"},
                 {"layer.1", "model-00002-of-00003.safetensors"},
                 {"head", "model-00003-of-00003.safetensors"}});
  }

  fs::path dir_;
};

TEST_F(CheckpointTest, OpensShardedCheckpointThroughItsIndex) {
  write_good_index();
  const auto checkpoint = Checkpoint::open(dir_);
  EXPECT_EQ(checkpoint.shards().size(), 3u);
  EXPECT_EQ(checkpoint.tensor_names(),
            (std::vector<std::string>{"embed", "head", "layer.0", "layer.1"}));
  EXPECT_EQ(checkpoint.parameter_count(), 4u + 4u + 6u + 8u);
  const auto head = checkpoint.view("head");
  ASSERT_EQ(head.bytes.size(), 8u);
  EXPECT_EQ(std::to_integer<int>(head.bytes[7]), 3);
  EXPECT_EQ(checkpoint.find("layer.1")->shape, (std::vector<std::int64_t>{6}));
  EXPECT_EQ(checkpoint.find("nope"), nullptr);
  expect_error([&] { (void)checkpoint.view("nope"); }, ErrorKind::NotFound,
               {dir_.string(), "'nope'"});
  // The index file itself is accepted too.
  EXPECT_EQ(Checkpoint::open(dir_ / "model.safetensors.index.json").shards().size(), 3u);
  EXPECT_TRUE(Checkpoint::exists_in(dir_));
}

TEST_F(CheckpointTest, ViewsStayValidAfterTheCheckpointIsMoved) {
  write_good_index();
  auto checkpoint = Checkpoint::open(dir_);
  const auto before = checkpoint.view("layer.1");
  const Checkpoint moved = std::move(checkpoint);
  EXPECT_EQ(moved.view("layer.1").bytes.data(), before.bytes.data());
  EXPECT_EQ(moved.find("layer.1"), before.info);
}

TEST_F(CheckpointTest, PrefersModelSafetensorsThenASingleFileAndAcceptsAFilePath) {
  const auto single = testing::scratch_dir("checkpoint_single");
  write_shard(single / "weights.safetensors", {"only"});
  EXPECT_EQ(Checkpoint::open(single).tensor_names(), std::vector<std::string>{"only"});
  write_shard(single / "model.safetensors", {"main"});
  EXPECT_EQ(Checkpoint::open(single).tensor_names(), std::vector<std::string>{"main"});
  EXPECT_EQ(Checkpoint::open(single / "weights.safetensors").tensor_names(),
            std::vector<std::string>{"only"});
  fs::remove_all(single);
}

TEST_F(CheckpointTest, RejectsFolderWithSeveralFilesAndNoIndex) {
  expect_error(
      [&] { Checkpoint::open(dir_); }, ErrorKind::NotFound,
      {"3 .safetensors files", "model-00001-of-00003.safetensors", "model.safetensors.index.json"});
}

TEST_F(CheckpointTest, RejectsFolderWithoutWeightsAndMissingPaths) {
  const auto empty = testing::scratch_dir("checkpoint_empty");
  EXPECT_FALSE(Checkpoint::exists_in(empty));
  expect_error([&] { Checkpoint::open(empty); }, ErrorKind::NotFound,
               {empty.string(), "no safetensors weights"});
  expect_error([&] { Checkpoint::open(empty / "missing"); }, ErrorKind::NotFound, {"no such file"});
  fs::remove_all(empty);
}

TEST_F(CheckpointTest, RejectsMissingShard) {
  write_index({{"embed", "model-00001-of-00003.safetensors"}, {"x", "gone.safetensors"}});
  expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::NotFound,
               {"model.safetensors.index.json", "'gone.safetensors'", "'x'"});
}

TEST_F(CheckpointTest, RejectsTensorMissingFromItsShard) {
  write_index({{"embed", "model-00001-of-00003.safetensors"},
               {"layer.0", "model-00001-of-00003.safetensors"},
               {"layer.1", "model-00002-of-00003.safetensors"},
               {"layer.2", "model-00002-of-00003.safetensors"},
               {"head", "model-00003-of-00003.safetensors"}});
  expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format,
               {"'layer.2'", "'model-00002-of-00003.safetensors'", "does not hold it"});
}

TEST_F(CheckpointTest, RejectsTensorListedInTheWrongShard) {
  write_index({{"embed", "model-00001-of-00003.safetensors"},
               {"layer.0", "model-00001-of-00003.safetensors"},
               {"layer.1", "model-00003-of-00003.safetensors"},
               {"head", "model-00003-of-00003.safetensors"}});
  // Shard 2 is then not in the index at all, so 'layer.1' is simply not found.
  expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format, {"'layer.1'"});
}

TEST_F(CheckpointTest, RejectsTensorPresentInTwoShards) {
  write_shard(dir_ / "model-00002-of-00003.safetensors", {"layer.1", "embed"}, 6, 2);
  write_good_index();
  expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format,
               {"'embed'", "two shards", "model-00001-of-00003", "model-00002-of-00003"});
}

TEST_F(CheckpointTest, RejectsShardTensorsMissingFromTheIndex) {
  write_shard(dir_ / "model-00003-of-00003.safetensors", {"head", "stale"}, 8, 3);
  write_good_index();
  expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format,
               {"model-00003-of-00003.safetensors", "'stale'", "not listed"});
}

TEST_F(CheckpointTest, RejectsShardNamesThatLeaveTheFolder) {
  for (const char* shard :
       {"../model-00001-of-00003.safetensors", "/etc/passwd", "sub/../../x.safetensors", ""}) {
    write_index({{"embed", shard}});
    expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format,
                 {"model.safetensors.index.json", "'embed'"});
  }
}

TEST_F(CheckpointTest, RejectsMalformedIndexFiles) {
  const struct {
    const char* text;
    const char* expected;
  } cases[] = {
      {"not json", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"metadata":{}})", "'weight_map'"},
      {R"({"weight_map":[]})", "'weight_map' must be an object"},
      {R"({"weight_map":{"a":1}})", "weight_map entry 'a'"},
      {R"({"weight_map":{}})", "lists no tensors"},
      {R"({"metadata":3,"weight_map":{"a":"b"}})", "'metadata' must be an object"},
      {R"({"weight_map":{"embed":"model-00001-of-00003.safetensors",)"
       R"("embed":"model-00002-of-00003.safetensors"}})",
       "'weight_map.embed' twice"},
  };
  for (const auto& c : cases) {
    testing::write_file(dir_ / "model.safetensors.index.json", std::string_view(c.text));
    expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format,
                 {"model.safetensors.index.json", c.expected});
  }
}

TEST_F(CheckpointTest, PassesShardErrorsThroughNamingTheShard) {
  testing::write_file(dir_ / "model-00002-of-00003.safetensors", std::string_view("short"));
  write_good_index();
  expect_error([&] { Checkpoint::open(dir_); }, ErrorKind::Format,
               {"model-00002-of-00003.safetensors", "too short"});
}

}  // namespace
}  // namespace vlmrt
