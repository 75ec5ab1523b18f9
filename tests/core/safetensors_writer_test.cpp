// The safetensors writer: round trips through the reader, the reference byte layout (checked
// against files built by hand in Python), atomic writes and argument checks.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <numeric>

#include "core/safetensors.hpp"
#include "safetensors_test_helpers.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

std::vector<std::byte> iota_bytes(std::size_t n, int start = 0) {
  std::vector<std::byte> bytes(n);
  for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<std::byte>((start + i) & 0xffu);
  return bytes;
}

std::vector<std::byte> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> chars((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  return testing::to_bytes(std::string_view(chars.data(), chars.size()));
}

// Runs an inline Python program (Debian's python3; no `safetensors` package needed).
void run_python(const fs::path& dir, const std::string& program, const std::string& args) {
  const fs::path script = dir / "script.py";
  testing::write_file(script, program);
  std::string output;
  const int status = testing::run_command(
      testing::python() + " " + testing::shell_quote(script.string()) + " " + args, &output);
  ASSERT_EQ(status, 0) << output;
}

class SafetensorsWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::scratch_dir("safetensors_writer"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SafetensorsWriterTest, RoundTripPreservesBytesShapesDtypesAndMetadata) {
  SafetensorsWriter writer;
  const struct {
    const char* name;
    DType dtype;
    std::vector<std::int64_t> shape;
  } tensors[] = {{"z.u8", DType::U8, {3}},      {"a.f32", DType::F32, {2, 3}},
                 {"m.bf16", DType::BF16, {5}},  {"f16", DType::F16, {1, 1, 2}},
                 {"i64", DType::I64, {2}},      {"i32", DType::I32, {}},
                 {"i8", DType::I8, {4}},        {"mask", DType::Bool, {2, 2}},
                 {"empty", DType::F32, {0, 7}}, {"ünï.cödé", DType::U8, {1}}};
  int start = 0;
  for (const auto& t : tensors) {
    const auto count =
        std::accumulate(t.shape.begin(), t.shape.end(), std::int64_t{1}, std::multiplies<>());
    writer.add(t.name, t.dtype, t.shape, iota_bytes(count * dtype_size(t.dtype), start));
    start += 17;
  }
  writer.set_metadata("format", "pt");
  writer.set_metadata("note", "ça va");
  writer.write(dir_ / "out.safetensors");

  const auto file = SafetensorsFile::open(dir_ / "out.safetensors");
  ASSERT_EQ(file.tensors().size(), std::size(tensors));
  start = 0;
  for (std::size_t i = 0; i < std::size(tensors); ++i) {
    const auto& t = tensors[i];
    const auto view = file.view(t.name);
    EXPECT_EQ(view.info->dtype, t.dtype) << t.name;
    EXPECT_EQ(view.info->shape, t.shape) << t.name;
    const auto expected = iota_bytes(view.bytes.size(), start);
    EXPECT_TRUE(std::equal(view.bytes.begin(), view.bytes.end(), expected.begin())) << t.name;
    start += 17;
  }
  // Laid out in insertion order (tensors() is in data order; empty tensors sort by offset too).
  EXPECT_EQ(file.tensors().front().name, "z.u8");
  EXPECT_EQ(file.find("a.f32")->data_begin, 3u);
  EXPECT_EQ(file.metadata(),
            (std::map<std::string, std::string>{{"format", "pt"}, {"note", "ça va"}}));
  EXPECT_EQ(read_all(dir_ / "out.safetensors"), writer.serialize());
}

TEST_F(SafetensorsWriterTest, PadsHeaderSoDataStartsAtMultipleOfEight) {
  for (int name_length = 1; name_length <= 9; ++name_length) {
    SafetensorsWriter writer;
    writer.add(std::string(name_length, 'w'), DType::U8, {3}, iota_bytes(3));
    const auto bytes = writer.serialize();
    const auto header = parse_safetensors_header(bytes, "serialized");
    EXPECT_EQ(header.data_offset % 8, 0u) << name_length;
    EXPECT_EQ(header.data_size, 3u);
    // Padding is spaces after the closing brace.
    const std::string text(reinterpret_cast<const char*>(bytes.data()) + 8, header.data_offset - 8);
    EXPECT_EQ(text.find_last_not_of(' '), text.find_last_of('}'));
  }
}

TEST_F(SafetensorsWriterTest, WriteReplacesAtomicallyAndLeavesNoTemporaryFiles) {
  testing::write_file(dir_ / "w.safetensors", std::string_view("old content"));
  SafetensorsWriter writer;
  writer.add("t", DType::I32, {2}, iota_bytes(8));
  writer.write(dir_ / "w.safetensors");
  EXPECT_EQ(SafetensorsFile::open(dir_ / "w.safetensors").tensors().size(), 1u);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
  expect_error([&] { writer.write(dir_ / "no_such_folder" / "w.safetensors"); }, ErrorKind::Io,
               {"no_such_folder"});
}

TEST_F(SafetensorsWriterTest, RejectsBadArguments) {
  SafetensorsWriter writer;
  writer.add("a", DType::F32, {2}, iota_bytes(8));
  expect_error([&] { writer.add("a", DType::F32, {2}, iota_bytes(8)); }, ErrorKind::InvalidArgument,
               {"'a'", "already added"});
  expect_error(
      [&] {
        writer.add("b", DType::F32, {3, 2}, iota_bytes(10));
      },
      ErrorKind::InvalidArgument, {"'b'", "[3,2]", "needs 24 bytes, got 10"});
  expect_error([&] { writer.add("c", DType::F32, {-1}, {}); }, ErrorKind::InvalidArgument,
               {"'c'", "invalid shape"});
  expect_error([&] { writer.add("__metadata__", DType::U8, {0}, {}); }, ErrorKind::InvalidArgument,
               {"reserved"});
  expect_error([&] { writer.add("bad\xff", DType::U8, {0}, {}); }, ErrorKind::InvalidArgument,
               {"UTF-8"});
  expect_error([&] { writer.set_metadata("k", "\xc3"); }, ErrorKind::InvalidArgument, {"UTF-8"});
}

// Builds, by hand in Python, the bytes the reference writer produces for the same tensors
// (compact JSON, "__metadata__" first, tensors in order, header padded with spaces to a multiple
// of 8) and compares them with serialize().
constexpr const char* kPythonBuild = R"PY(
import json, struct, sys
tensors = [("w", "F32", [2, 2], bytes(range(16))), ("b", "BF16", [3], bytes(range(16, 22))),
           ("id", "I64", [1], bytes(range(22, 30)))]
header, offset, data = {"__metadata__": {"format": "pt"}}, 0, b""
for name, dtype, shape, raw in tensors:
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
    offset += len(raw)
    data += raw
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * ((8 - len(text) % 8) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + data)
)PY";

TEST_F(SafetensorsWriterTest, SerializesTheSameBytesAsTheReferenceLayoutBuiltInPython) {
  run_python(dir_, kPythonBuild, testing::shell_quote((dir_ / "py.safetensors").string()));
  SafetensorsWriter writer;
  writer.add("w", DType::F32, {2, 2}, iota_bytes(16, 0));
  writer.add("b", DType::BF16, {3}, iota_bytes(6, 16));
  writer.add("id", DType::I64, {1}, iota_bytes(8, 22));
  writer.set_metadata("format", "pt");
  EXPECT_EQ(writer.serialize(), read_all(dir_ / "py.safetensors"));

  const auto file = SafetensorsFile::open(dir_ / "py.safetensors");
  EXPECT_EQ(file.find("b")->shape, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(std::to_integer<int>(file.view("id").bytes[0]), 22);
}

// Python checks a vlmrt-written file the way the reference Rust reader does: header length a
// multiple of 8 after padding, tensors contiguous from 0 and covering the whole data section,
// byte sizes equal to the shape × dtype size.
constexpr const char* kPythonCheck = R"PY(
import json, struct, sys
sizes = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "U8": 1, "I8": 1, "BOOL": 1}
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
assert n % 8 == 0, n
header = json.loads(raw[8:8 + n].decode("utf-8"))
assert header.pop("__metadata__") == {"format": "pt", "source": "vlmrt"}
end = 0
for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
    begin, stop = info["data_offsets"]
    assert begin == end, (name, begin, end)
    count = 1
    for d in info["shape"]:
        count *= d
    assert stop - begin == count * sizes[info["dtype"]], name
    end = stop
assert 8 + n + end == len(raw), (8 + n + end, len(raw))
print("ok", len(header))
)PY";

TEST_F(SafetensorsWriterTest, WrittenFilesPassTheReferenceReadersChecksInPython) {
  SafetensorsWriter writer;
  writer.add("emb", DType::BF16, {3, 5}, iota_bytes(30));
  writer.add("flag", DType::Bool, {1}, iota_bytes(1));
  writer.add("norm", DType::F32, {5}, iota_bytes(20));
  writer.add("nothing", DType::F32, {0}, {});
  writer.set_metadata("format", "pt");
  writer.set_metadata("source", "vlmrt");
  writer.write(dir_ / "v.safetensors");
  run_python(dir_, kPythonCheck, testing::shell_quote((dir_ / "v.safetensors").string()));
}

}  // namespace
}  // namespace vlmrt
