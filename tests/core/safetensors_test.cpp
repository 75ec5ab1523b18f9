// The safetensors reader: valid files, and a typed error (never a crash) for every malformed one.
#include "core/safetensors.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/mapped_file.hpp"
#include "safetensors_test_helpers.hpp"
#include "test_support.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;
using testing::safetensors_bytes;

class SafetensorsReader : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::scratch_dir("safetensors_reader"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes the bytes to model.safetensors and opens it.
  SafetensorsFile open_bytes(std::span<const std::byte> bytes,
                             const SafetensorsLimits& limits = {}) {
    testing::write_file(path(), bytes);
    return SafetensorsFile::open(path(), limits);
  }
  SafetensorsFile open_header(std::string_view header, std::size_t data_size = 0) {
    return open_bytes(safetensors_bytes(header, data_size));
  }
  void expect_header_error(std::string_view header, std::size_t data_size, ErrorKind kind,
                           std::initializer_list<std::string_view> parts) {
    SCOPED_TRACE(std::string(header));
    expect_error([&] { open_header(header, data_size); }, kind, parts);
  }
  fs::path path() const { return dir_ / "model.safetensors"; }

  fs::path dir_;
};

constexpr std::string_view kTwoTensors =
    R"({"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},)"
    R"("a.weight":{"dtype":"BF16","shape":[2,4],"data_offsets":[0,16]}})";

TEST_F(SafetensorsReader, ReadsTensorsInDataOrderWithMetadata) {
  const auto file = open_header(kTwoTensors, 24);
  ASSERT_EQ(file.tensors().size(), 2u);
  EXPECT_EQ(file.tensors()[0].name, "a.weight");
  EXPECT_EQ(file.tensors()[0].dtype, DType::BF16);
  EXPECT_EQ(file.tensors()[0].shape, (std::vector<std::int64_t>{2, 4}));
  EXPECT_EQ(file.tensors()[0].element_count(), 8);
  EXPECT_EQ(file.tensors()[1].name, "b");
  EXPECT_EQ(file.tensors()[1].data_begin, 16u);
  EXPECT_EQ(file.tensors()[1].byte_size(), 8u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.find("b"), &file.tensors()[1]);
  EXPECT_EQ(file.find("c"), nullptr);
  const auto view = file.view("b");
  ASSERT_EQ(view.bytes.size(), 8u);
  EXPECT_EQ(view.info, file.find("b"));
  EXPECT_EQ(std::to_integer<int>(view.bytes[0]), 16);  // data bytes are 0, 1, 2, ...
  EXPECT_EQ(std::to_integer<int>(view.bytes[7]), 23);
}

TEST_F(SafetensorsReader, ReadsEveryDtypeItSupports) {
  const struct {
    const char* name;
    DType dtype;
    int size;
  } cases[] = {{"F32", DType::F32, 4}, {"F16", DType::F16, 2},  {"BF16", DType::BF16, 2},
               {"I64", DType::I64, 8}, {"I32", DType::I32, 4},  {"U8", DType::U8, 1},
               {"I8", DType::I8, 1},   {"BOOL", DType::Bool, 1}};
  for (const auto& c : cases) {
    const std::string header = std::string(R"({"t":{"dtype":")") + c.name +
                               R"(","shape":[3],"data_offsets":[0,)" + std::to_string(3 * c.size) +
                               "]}}";
    const auto file = open_header(header, 3 * c.size);
    EXPECT_EQ(file.find("t")->dtype, c.dtype) << c.name;
  }
}

TEST_F(SafetensorsReader, AcceptsScalarsEmptyTensorsAndAnEmptyHeader) {
  auto file = open_header(R"({"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},)"
                          R"("e":{"dtype":"F16","shape":[0,5],"data_offsets":[4,4]},)"
                          R"("f":{"dtype":"I8","shape":[0],"data_offsets":[0,0]}})",
                          4);
  EXPECT_EQ(file.find("s")->element_count(), 1);
  EXPECT_EQ(file.find("e")->element_count(), 0);
  EXPECT_TRUE(file.view("e").bytes.empty());
  file = open_header("{}");
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST_F(SafetensorsReader, AcceptsGapsBetweenTensorsAndTrailingBytes) {
  // Documented leniency: the reference reader wants contiguous data; vlmrt only forbids overlap.
  const auto file = open_header(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                                R"("b":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})",
                                32);
  EXPECT_EQ(std::to_integer<int>(file.view("b").bytes[0]), 8);
}

TEST_F(SafetensorsReader, AcceptsHeaderPaddedWithSpaces) {
  const auto file =
      open_header(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}      )", 1);
  EXPECT_EQ(file.tensors().size(), 1u);
}

TEST_F(SafetensorsReader, ViewsAreZeroCopyIntoTheMapping) {
  const auto file = open_header(kTwoTensors, 24);
  const auto a = file.view("a.weight");
  const auto b = file.view("b");
  EXPECT_EQ(file.view("b").bytes.data(), b.bytes.data());
  EXPECT_EQ(a.bytes.data() + 16, b.bytes.data());
  // The pointer lies inside a mapping of this very file (per /proc/self/maps).
  const auto address = reinterpret_cast<std::uintptr_t>(b.bytes.data());
  const std::string target = fs::canonical(path()).string();
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool found = false;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, file_name;
    fields >> range >> perms >> offset >> device >> inode >> file_name;
    const auto dash = range.find('-');
    const auto begin = std::stoull(range.substr(0, dash), nullptr, 16);
    const auto end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (file_name == target && address >= begin && address < end) found = true;
  }
  EXPECT_TRUE(found) << "view pointer is not inside a mapping of " << target;
}

TEST_F(SafetensorsReader, OpeningDoesNotReadTheDataSection) {
  // A 64 MiB tensor in a sparse file: after open() almost none of it may be in the page cache
  // (a read of the data would pull it all in). Fault-around/readahead may bring in a little.
  constexpr std::uint64_t kDataSize = 64ull << 20;
  const std::string header = R"({"big":{"dtype":"U8","shape":[)" + std::to_string(kDataSize) +
                             R"(],"data_offsets":[0,)" + std::to_string(kDataSize) + "]}}";
  testing::write_file(path(), safetensors_bytes(header));
  fs::resize_file(path(), 8 + header.size() + kDataSize);
  const auto file = SafetensorsFile::open(path());
  const auto bytes = file.view("big").bytes;
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto first = reinterpret_cast<std::uintptr_t>(bytes.data()) / page * page;
  const auto last = reinterpret_cast<std::uintptr_t>(bytes.data() + bytes.size());
  std::vector<unsigned char> resident((last - first + page - 1) / page);
  ASSERT_EQ(::mincore(reinterpret_cast<void*>(first), last - first, resident.data()), 0);
  std::size_t count = 0;
  for (const auto flag : resident) count += flag & 1u;
  EXPECT_LT(count, resident.size() / 16) << count << " of " << resident.size() << " pages resident";
}

TEST_F(SafetensorsReader, ViewOfUnknownTensorIsNotFoundNamingFileAndTensor) {
  const auto file = open_header(kTwoTensors, 24);
  expect_error([&] { (void)file.view("missing.bias"); }, ErrorKind::NotFound,
               {"model.safetensors", "'missing.bias'"});
}

TEST_F(SafetensorsReader, MissingFileIsNotFoundAndFolderIsIo) {
  expect_error([&] { (void)SafetensorsFile::open(dir_ / "nope.safetensors"); }, ErrorKind::NotFound,
               {"nope.safetensors"});
  expect_error([&] { (void)SafetensorsFile::open(dir_); }, ErrorKind::Io, {dir_.string()});
}

TEST_F(SafetensorsReader, RejectsFileShorterThanEightBytes) {
  for (std::size_t size : {0u, 1u, 7u}) {
    const std::vector<std::byte> bytes(size, std::byte{0});
    expect_error([&] { open_bytes(bytes); }, ErrorKind::Format, {"model.safetensors", "too short"});
  }
}

TEST_F(SafetensorsReader, RejectsHeaderLengthPastEof) {
  const auto bytes = safetensors_bytes("{}", 0, 100);
  expect_error([&] { open_bytes(bytes); }, ErrorKind::Format,
               {"model.safetensors", "header length 100", "past the end"});
}

TEST_F(SafetensorsReader, RejectsAbsurdHeaderSizesAsLimitExceeded) {
  expect_error([&] { open_bytes(safetensors_bytes("{}", 0, ~0ull)); }, ErrorKind::LimitExceeded,
               {"model.safetensors", "limit"});
  SafetensorsLimits small;
  small.max_header_bytes = 16;
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})";
  expect_error([&] { open_bytes(safetensors_bytes(header, 1), small); }, ErrorKind::LimitExceeded,
               {"above the limit of 16"});
}

TEST_F(SafetensorsReader, RejectsHeaderThatIsNotJson) {
  expect_header_error("", 0, ErrorKind::Format, {"model.safetensors", "not valid JSON"});
  expect_header_error("{\"a\":", 0, ErrorKind::Format, {"not valid JSON"});
  expect_header_error("{} x", 0, ErrorKind::Format, {"not valid JSON"});
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1e999],"data_offsets":[0,1]}})", 1,
                      ErrorKind::Format, {"not valid JSON"});
  expect_header_error(std::string(1000, '[') + std::string(1000, ']'), 0, ErrorKind::Format,
                      {"nests deeper"});
}

TEST_F(SafetensorsReader, RejectsHeaderThatIsNotAnObject) {
  for (const char* header : {"[]", "3", "\"text\"", "null"})
    expect_header_error(header, 0, ErrorKind::Format, {"must be a JSON object"});
}

TEST_F(SafetensorsReader, RejectsEntryMissingAField) {
  expect_header_error(R"({"w":{"shape":[1],"data_offsets":[0,1]}})", 1, ErrorKind::Format,
                      {"tensor 'w'", "'dtype' is missing"});
  expect_header_error(R"({"w":{"dtype":"U8","data_offsets":[0,1]}})", 1, ErrorKind::Format,
                      {"tensor 'w'", "'shape' is missing"});
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1]}})", 1, ErrorKind::Format,
                      {"tensor 'w'", "'data_offsets' is missing"});
}

TEST_F(SafetensorsReader, RejectsFieldsOfTheWrongJsonType) {
  const struct {
    const char* entry;
    const char* expected;
  } cases[] = {
      {R"("x")", "entry must be an object"},
      {R"({"dtype":3,"shape":[1],"data_offsets":[0,1]})", "'dtype' must be a string"},
      {R"({"dtype":"U8","shape":"1","data_offsets":[0,1]})", "'shape' must be an array"},
      {R"({"dtype":"U8","shape":[1.5],"data_offsets":[0,1]})", "non-integer number"},
      {R"({"dtype":"U8","shape":["1"],"data_offsets":[0,1]})", "must be a non-negative integer"},
      {R"({"dtype":"U8","shape":[1],"data_offsets":[0]})", "array [begin, end]"},
      {R"({"dtype":"U8","shape":[1],"data_offsets":[0,1,2]})", "array [begin, end]"},
      {R"({"dtype":"U8","shape":[1],"data_offsets":{"a":0}})", "array [begin, end]"},
      {R"({"dtype":"U8","shape":[1],"data_offsets":[0,1.0]})", "non-negative integers"},
      {R"({"dtype":"U8","shape":[1],"data_offsets":[-1,0]})", "non-negative integers, found -1"},
  };
  for (const auto& c : cases)
    expect_header_error(std::string(R"({"w":)") + c.entry + "}", 1, ErrorKind::Format,
                        {"model.safetensors", "tensor 'w'", c.expected});
}

TEST_F(SafetensorsReader, RejectsNegativeDims) {
  expect_header_error(R"({"w":{"dtype":"F32","shape":[2,-3],"data_offsets":[0,0]}})", 0,
                      ErrorKind::Format, {"tensor 'w'", "dim 1 is -3"});
  expect_header_error(R"({"w":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,0]}})",
                      0, ErrorKind::Format, {"above 2^63-1"});
}

TEST_F(SafetensorsReader, RejectsRankAboveLimit) {
  expect_header_error(R"({"w":{"dtype":"U8","shape":[1,1,1,1,1,1,1,1,1],"data_offsets":[0,1]}})", 1,
                      ErrorKind::LimitExceeded, {"tensor 'w'", "9 dims", "limit of 8"});
}

TEST_F(SafetensorsReader, RejectsShapeProductOverflowing64Bits) {
  expect_header_error(
      R"({"w":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0,
      ErrorKind::Format, {"tensor 'w'", "fit in 64 bits"});
  // The element count fits but count × 4 bytes does not.
  expect_header_error(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})",
                      0, ErrorKind::Format, {"fit in 64 bits"});
}

TEST_F(SafetensorsReader, RejectsOffsetsEndingBeforeTheyBegin) {
  expect_header_error(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,2]}})", 8,
                      ErrorKind::Format, {"tensor 'w'", "[4, 2]", "end before they begin"});
}

TEST_F(SafetensorsReader, RejectsOffsetsOutsideTheDataSection) {
  expect_header_error(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[6,10]}})", 8,
                      ErrorKind::Format, {"tensor 'w'", "[6, 10]", "data section (8 bytes)"});
  expect_header_error(
      R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[18446744073709551615,18446744073709551616]}})",
      8, ErrorKind::Format, {"tensor 'w'"});
}

TEST_F(SafetensorsReader, RejectsOverlappingTensors) {
  expect_header_error(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                      16, ErrorKind::Format,
                      {"model.safetensors", "'a' [0, 16]", "'b' [8, 16]", "overlap"});
  // Overlap hidden behind a tensor nested inside a longer one.
  expect_header_error(R"({"a":{"dtype":"U8","shape":[10],"data_offsets":[0,10]},)"
                      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                      R"("c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})",
                      10, ErrorKind::Format, {"'a' [0, 10]", "overlap"});
  // Identical ranges.
  expect_header_error(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                      R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                      2, ErrorKind::Format, {"overlap"});
}

TEST_F(SafetensorsReader, RejectsByteSizeThatDoesNotMatchShapeAndDtype) {
  expect_header_error(R"({"a.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,10]}})", 10,
                      ErrorKind::Format,
                      {"model.safetensors: tensor 'a.weight': data_offsets [0, 10] hold 10 bytes "
                       "but shape [3,2] of F32 needs 24"});
}

TEST_F(SafetensorsReader, RejectsDuplicateTensorNames) {
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      2, ErrorKind::Format, {"model.safetensors", "key 'a' twice"});
  expect_header_error(R"({"a":{"dtype":"U8","dtype":"F32","shape":[1],"data_offsets":[0,1]}})", 1,
                      ErrorKind::Format, {"key 'a.dtype' twice"});
  // The same name written with an escape is the same key.
  expect_header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                      R"("\u0061":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                      2, ErrorKind::Format, {"twice"});
}

TEST_F(SafetensorsReader, RejectsNamesThatAreNotUtf8) {
  for (std::string bad : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                          std::string("a\xe2\x82")}) {
    const std::string header =
        "{\"" + bad + "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    expect_header_error(header, 1, ErrorKind::Format, {"model.safetensors", "not valid UTF-8"});
  }
  // A lone surrogate written as an escape decodes to no valid UTF-8 either.
  expect_header_error(R"({"\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1,
                      ErrorKind::Format, {"not valid JSON"});
}

TEST_F(SafetensorsReader, AcceptsUtf8Names) {
  const auto file =
      open_header(R"({"poids.é→Ω😀":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1);
  EXPECT_NE(file.find("poids.é→Ω😀"), nullptr);
}

TEST_F(SafetensorsReader, RejectsMetadataThatIsNotAStringToStringObject) {
  for (const char* metadata :
       {R"([])", R"("pt")", R"({"format":1})", R"({"a":{"b":"c"}})", R"(null)"})
    expect_header_error(std::string(R"({"__metadata__":)") + metadata + "}", 0, ErrorKind::Format,
                        {"model.safetensors", "__metadata__"});
}

TEST_F(SafetensorsReader, RejectsUnsupportedDtypesNamingTensorFileAndDtype) {
  for (const char* dtype : {"F8_E4M3", "F8_E5M2", "F64", "U16", "f32", ""}) {
    const std::string header = std::string(R"({"lm_head.weight":{"dtype":")") + dtype +
                               R"(","shape":[1],"data_offsets":[0,1]}})";
    expect_header_error(header, 1, ErrorKind::Unsupported,
                        {"model.safetensors", "'lm_head.weight'",
                         std::string("dtype '") + dtype + "'", "supported: F32"});
  }
}

TEST_F(SafetensorsReader, ParsesHeaderFromMemoryWithoutAFile) {
  const auto bytes = safetensors_bytes(kTwoTensors, 24);
  const auto header = parse_safetensors_header(bytes, "in-memory");
  EXPECT_EQ(header.tensors.size(), 2u);
  EXPECT_EQ(header.data_offset, 8 + kTwoTensors.size());
  EXPECT_EQ(header.data_size, 24u);
  expect_error([&] { parse_safetensors_header(std::span(bytes).first(20), "in-memory"); },
               ErrorKind::Format, {"in-memory:"});
}

TEST_F(SafetensorsReader, TruncatesHugeNamesInMessages) {
  const std::string name(5000, 'n');
  expect_header_error("{\"" + name + R"(":{"dtype":"U8","shape":[2],"data_offsets":[0,1]}})", 1,
                      ErrorKind::Format, {"nnn...'"});
  try {
    open_header("{\"" + name + R"(":{"dtype":"U8","shape":[2],"data_offsets":[0,1]}})", 1);
  } catch (const Error& e) {
    EXPECT_LT(std::string_view(e.what()).size(), 600u);
  }
}

TEST(MappedFile, MapsContentEmptyFilesAndKeepsTheAddressWhenMoved) {
  const auto dir = testing::scratch_dir("mapped_file");
  testing::write_file(dir / "f.bin", std::string_view("hello"));
  testing::write_file(dir / "empty.bin", std::string_view(""));
  auto file = MappedFile::open(dir / "f.bin");
  ASSERT_EQ(file.size(), 5u);
  EXPECT_EQ(std::to_integer<char>(file.bytes()[4]), 'o');
  const auto* data = file.bytes().data();
  MappedFile moved = std::move(file);
  EXPECT_EQ(moved.bytes().data(), data);
  EXPECT_TRUE(file.bytes().empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_TRUE(MappedFile::open(dir / "empty.bin").bytes().empty());
  expect_error([&] { MappedFile::open(dir / "missing.bin"); }, ErrorKind::NotFound,
               {"missing.bin"});
  expect_error([&] { MappedFile::open(dir); }, ErrorKind::Io, {"not a regular file"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vlmrt
