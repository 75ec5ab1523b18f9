#include "core/npy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>

#include "test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {
namespace {

TEST(Npy, RoundTripsAndNumpyReadsIt) {
  const auto dir = testing::scratch_dir("npy");
  const std::vector<std::int64_t> shape{2, 3, 4};
  std::vector<float> values(24);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f - 3.0f;
  npy::write_f32(dir / "a.npy", shape, values);

  const auto back = npy::read_f32(dir / "a.npy");
  EXPECT_EQ(back.shape, shape);
  EXPECT_EQ(back.values, values);

  std::string output;
  const std::string check =
      testing::python() + " -c " +
      testing::shell_quote(
          "import numpy as np,sys; a=np.load(sys.argv[1]); "
          "print(a.dtype, a.shape, float(a.sum()), a.flags['C_CONTIGUOUS'])") +
      " " + testing::shell_quote((dir / "a.npy").string());
  ASSERT_EQ(testing::run_command(check, &output), 0) << output;
  EXPECT_EQ(output, "float32 (2, 3, 4) 66.0 True\n");
}

TEST(Npy, ReadsWhatNumpyWrites) {
  const auto dir = testing::scratch_dir("npy_numpy");
  const auto file = (dir / "b.npy").string();
  std::string output;
  ASSERT_EQ(
      testing::run_command(testing::python() + " -c " +
                               testing::shell_quote("import numpy as np,sys; np.save(sys.argv[1], "
                                                    "np.arange(7, dtype=np.float32).reshape(7))") +
                               " " + testing::shell_quote(file),
                           &output),
      0)
      << output;
  const auto array = npy::read_f32(file);
  EXPECT_EQ(array.shape, std::vector<std::int64_t>{7});
  EXPECT_EQ(array.values[6], 6.0f);
}

TEST(Npy, RejectsWrongDtypeAndTruncation) {
  const auto dir = testing::scratch_dir("npy_bad");
  const std::vector<std::int64_t> shape{4};
  const std::vector<float> values{1, 2, 3, 4};
  npy::write_f32(dir / "c.npy", shape, values);
  std::filesystem::resize_file(dir / "c.npy", std::filesystem::file_size(dir / "c.npy") - 1);
  EXPECT_THROW(npy::read_f32(dir / "c.npy"), Error);

  std::ofstream(dir / "d.npy") << "not numpy at all";
  try {
    npy::read_f32(dir / "d.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_NE(std::string(e.what()).find("d.npy"), std::string::npos);
  }
}

TEST(Npy, WritesInt64ThatNumpyReads) {
  const auto dir = testing::scratch_dir("npy_i64");
  const std::vector<std::int64_t> shape{2, 2};
  const std::vector<std::int64_t> values{1, 0, -5, 1LL << 40};
  npy::write_i64(dir / "m.npy", shape, values);
  std::string output;
  ASSERT_EQ(testing::run_command(
                testing::python() + " -c " +
                    testing::shell_quote("import numpy as np,sys; a=np.load(sys.argv[1]); "
                                         "print(a.dtype, a.shape, a.tolist())") +
                    " " + testing::shell_quote((dir / "m.npy").string()),
                &output),
            0)
      << output;
  EXPECT_EQ(output, "int64 (2, 2) [[1, 0], [-5, 1099511627776]]\n");
}

TEST(Npy, WriterRejectsShapeMismatch) {
  const auto dir = testing::scratch_dir("npy_mismatch");
  const std::vector<std::int64_t> shape{3};
  const std::vector<float> values{1, 2};
  EXPECT_THROW(npy::write_f32(dir / "e.npy", shape, values), Error);
}

// ---- generic typed-bytes API (read_raw / write_raw) ----

constexpr npy::ElementType kAllTypes[] = {npy::ElementType::Float32, npy::ElementType::Float16,
                                          npy::ElementType::Float64, npy::ElementType::Int64,
                                          npy::ElementType::Int32,   npy::ElementType::Int8,
                                          npy::ElementType::Uint8,   npy::ElementType::Bool};

// Distinct bytes per element (bool: 0/1, the only values NumPy accepts for '|b1').
npy::RawArray patterned(npy::ElementType type, std::vector<std::int64_t> shape) {
  npy::RawArray array;
  array.type = type;
  array.shape = std::move(shape);
  std::size_t count = 1;
  for (const auto dim : array.shape) count *= static_cast<std::size_t>(dim);
  array.bytes.resize(count * npy::item_size(type));
  for (std::size_t i = 0; i < array.bytes.size(); ++i) {
    array.bytes[i] = static_cast<std::byte>(type == npy::ElementType::Bool ? i % 2 : i * 7 + 3);
  }
  return array;
}

std::string numpy_describe(const std::filesystem::path& file) {
  std::string output;
  const std::string command = testing::python() + " -c " +
                              testing::shell_quote(
                                  "import numpy as np,sys; a=np.load(sys.argv[1]); "
                                  "print(a.dtype.str, a.shape, a.tobytes().hex())") +
                              " " + testing::shell_quote(file.string());
  EXPECT_EQ(testing::run_command(command, &output), 0) << output;
  return output;
}

std::string hex(const std::vector<std::byte>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  for (const auto b : bytes) {
    text += kDigits[std::to_integer<int>(b) >> 4];
    text += kDigits[std::to_integer<int>(b) & 15];
  }
  return text;
}

TEST(Npy, RawRoundTripsEveryTypeAndNumpyReadsIt) {
  const auto dir = testing::scratch_dir("npy_raw_types");
  for (const auto type : kAllTypes) {
    const std::string name(npy::type_name(type));
    const auto file = dir / (name + ".npy");
    const auto array = patterned(type, {2, 3});
    npy::write_raw(file, array);

    const auto back = npy::read_raw(file);
    EXPECT_EQ(back.type, type) << name;
    EXPECT_EQ(back.shape, array.shape) << name;
    EXPECT_EQ(back.bytes, array.bytes) << name;
    EXPECT_EQ(numpy_describe(file),
              std::string(npy::descr(type)) + " (2, 3) " + hex(array.bytes) + "\n");
  }
}

TEST(Npy, RawRoundTripsZeroDimAndEmptyShapes) {
  const auto dir = testing::scratch_dir("npy_raw_shapes");
  const auto scalar = patterned(npy::ElementType::Int64, {});  // 0-d: one element
  ASSERT_EQ(scalar.bytes.size(), 8u);
  npy::write_raw(dir / "scalar.npy", scalar);
  const auto scalar_back = npy::read_raw(dir / "scalar.npy");
  EXPECT_TRUE(scalar_back.shape.empty());
  EXPECT_EQ(scalar_back.bytes, scalar.bytes);
  EXPECT_EQ(numpy_describe(dir / "scalar.npy"), "<i8 () " + hex(scalar.bytes) + "\n");

  for (const std::vector<std::int64_t>& shape :
       {std::vector<std::int64_t>{0}, std::vector<std::int64_t>{2, 0, 3}}) {
    const auto empty = patterned(npy::ElementType::Float16, shape);
    ASSERT_TRUE(empty.bytes.empty());
    npy::write_raw(dir / "empty.npy", empty);
    const auto back = npy::read_raw(dir / "empty.npy");
    EXPECT_EQ(back.type, npy::ElementType::Float16);
    EXPECT_EQ(back.shape, shape);
    EXPECT_TRUE(back.bytes.empty());
  }
  EXPECT_EQ(numpy_describe(dir / "empty.npy"), "<f2 (2, 0, 3) \n");
}

TEST(Npy, RawReadsEveryTypeNumpyWrites) {
  const auto dir = testing::scratch_dir("npy_raw_numpy");
  std::string output;
  ASSERT_EQ(testing::run_command(
                testing::python() + " -c " +
                    testing::shell_quote(
                        "import numpy as np,sys\n"
                        "for t in ['float32','float16','float64','int64','int32','int8','uint8',"
                        "'bool']:\n"
                        "  np.save(sys.argv[1]+'/'+t+'.npy', (np.arange(6)%2 if t=='bool' else "
                        "np.arange(6)-2).astype(t).reshape(3, 2))") +
                    " " + testing::shell_quote(dir.string()),
                &output),
            0)
      << output;
  for (const auto type : kAllTypes) {
    const std::string name(npy::type_name(type));
    const auto array = npy::read_raw(dir / (name + ".npy"));
    EXPECT_EQ(array.type, type) << name;
    EXPECT_EQ(array.shape, (std::vector<std::int64_t>{3, 2})) << name;
    EXPECT_EQ(array.bytes.size(), 6 * npy::item_size(type)) << name;
  }
  const auto ints = npy::read_raw(dir / "int32.npy");
  std::int32_t last = 0;
  std::memcpy(&last, ints.bytes.data() + 5 * sizeof last, sizeof last);
  EXPECT_EQ(last, 3);
}

// A file with the given header dict (padded as NumPy pads it) followed by `data_size` zero bytes.
void write_file(const std::filesystem::path& path, const std::string& dict, std::size_t data_size,
                int major = 1) {
  const std::size_t length_size = major == 1 ? 2 : 4;
  std::string header = dict;
  const std::size_t unpadded = 8 + length_size + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string file = "\x93NUMPY";
  file += static_cast<char>(major);
  file += '\0';
  for (std::size_t i = 0; i < length_size; ++i) {
    file += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  file += header;
  file.append(data_size, '\0');
  std::ofstream(path, std::ios::binary) << file;
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// read_raw fails with a Format error whose message names the file and contains `what`.
void expect_format_error(const std::filesystem::path& path, const std::string& what) {
  try {
    npy::read_raw(path);
    ADD_FAILURE() << path << ": expected a Format error containing '" << what << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    const std::string message = e.what();
    EXPECT_NE(message.find(path.filename().string()), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
  }
}

const std::string kF4Dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

TEST(Npy, RawReadsVersion2Headers) {
  const auto dir = testing::scratch_dir("npy_raw_v2");
  write_file(dir / "v2.npy", kF4Dict, 24, 2);
  const auto array = npy::read_raw(dir / "v2.npy");
  EXPECT_EQ(array.shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(array.bytes.size(), 24u);
}

TEST(Npy, RawRejectsBadMagic) {
  const auto dir = testing::scratch_dir("npy_raw_magic");
  write_bytes(dir / "magic.npy", std::string("\x93NUMPZ\x01\x00\x10\x00", 10) + "0123456789abcdef");
  expect_format_error(dir / "magic.npy", "missing the \\x93NUMPY magic");
  write_bytes(dir / "empty.npy", "");
  expect_format_error(dir / "empty.npy", "missing the \\x93NUMPY magic");
}

TEST(Npy, RawRejectsUnsupportedVersion) {
  const auto dir = testing::scratch_dir("npy_raw_version");
  write_file(dir / "v4.npy", kF4Dict, 24, 4);
  expect_format_error(dir / "v4.npy", "unsupported .npy format version 4.0");
}

TEST(Npy, RawRejectsTruncatedHeader) {
  const auto dir = testing::scratch_dir("npy_raw_truncated");
  write_bytes(dir / "prefix.npy", std::string("\x93NUMPY\x01\x00\x40", 9));
  expect_format_error(dir / "prefix.npy", "truncated header");
  // A complete file cut inside its header: the header length now points past the end.
  write_file(dir / "cut.npy", kF4Dict, 24);
  std::filesystem::resize_file(dir / "cut.npy", 40);
  expect_format_error(dir / "cut.npy", "npy header length 118 is past the end of the file");
}

TEST(Npy, RawRejectsHeaderLengthPastEof) {
  const auto dir = testing::scratch_dir("npy_raw_past_eof");
  write_bytes(dir / "v1.npy", std::string("\x93NUMPY\x01\x00\xff\xff{'descr'", 17));
  expect_format_error(dir / "v1.npy", "npy header length 65535 is past the end of the file");
  // Version 2.0's 4-byte length: a 4 GiB header must not be allocated.
  write_bytes(dir / "v2.npy", std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'", 19));
  expect_format_error(dir / "v2.npy", "npy header length 4294967295 is past the end of the file");
}

TEST(Npy, RawRejectsUnsupportedDescr) {
  const auto dir = testing::scratch_dir("npy_raw_descr");
  for (const std::string descr : {"<c8", ">f4", "<U3", "O"}) {
    write_file(dir / "d.npy", "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (2,), }",
               16);
    expect_format_error(dir / "d.npy", "npy dtype '" + descr + "' is not supported");
  }
  write_file(dir / "none.npy", "{'fortran_order': False, 'shape': (2,), }", 8);
  expect_format_error(dir / "none.npy", "npy header has no 'descr'");
  // One-byte types carry no byte order: '<u1' and '|u1' are the same dtype.
  write_file(dir / "u1.npy", "{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }", 2);
  EXPECT_EQ(npy::read_raw(dir / "u1.npy").type, npy::ElementType::Uint8);
}

TEST(Npy, RawRejectsFortranOrder) {
  const auto dir = testing::scratch_dir("npy_raw_fortran");
  write_file(dir / "f.npy", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24);
  expect_format_error(dir / "f.npy", "Fortran-order arrays are not supported");
}

TEST(Npy, RawRejectsDataSizeMismatch) {
  const auto dir = testing::scratch_dir("npy_raw_size");
  write_file(dir / "short.npy", kF4Dict, 20);
  expect_format_error(dir / "short.npy", "npy data holds 20 bytes, the shape needs 24");
  write_file(dir / "long.npy", kF4Dict, 28);
  expect_format_error(dir / "long.npy", "npy data holds 28 bytes, the shape needs 24");
}

TEST(Npy, RawRejectsHugeShapeOverflow) {
  const auto dir = testing::scratch_dir("npy_raw_huge");
  write_file(dir / "product.npy",
             "{'descr': '<f8', 'fortran_order': False, 'shape': (1048576, 1048576, 1048576, "
             "1048576), }",
             8);
  expect_format_error(dir / "product.npy", "overflows 64-bit sizes");
  // Fits in 64 bits as an element count, not as a byte count of 8-byte items.
  write_file(dir / "bytes.npy",
             "{'descr': '<i8', 'fortran_order': False, 'shape': (4611686018427387904,), }", 8);
  expect_format_error(dir / "bytes.npy", "overflows 64-bit sizes");
  write_file(dir / "dim.npy",
             "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4);
  expect_format_error(dir / "dim.npy", "a dimension of the shape overflows int64");
  // Plausible product, far more data than the file holds: no allocation, a size error.
  write_file(dir / "large.npy",
             "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }", 4);
  expect_format_error(dir / "large.npy", "the shape needs 4000000000000");
}

TEST(Npy, RawRejectsMalformedShape) {
  const auto dir = testing::scratch_dir("npy_raw_shape");
  write_file(dir / "list.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }", 8);
  expect_format_error(dir / "list.npy", "is not a tuple");
  write_file(dir / "neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", 8);
  expect_format_error(dir / "neg.npy", "unexpected character in shape");
  write_file(dir / "hole.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,,3), }", 24);
  expect_format_error(dir / "hole.npy", "empty dimension in shape");
}

TEST(Npy, RawReportsMissingFileAsNotFound) {
  const auto dir = testing::scratch_dir("npy_raw_missing");
  try {
    npy::read_raw(dir / "absent.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::NotFound);
    EXPECT_NE(std::string(e.what()).find("absent.npy"), std::string::npos);
  }
}

TEST(Npy, WriteRawRejectsBytesThatDoNotMatchTheShape) {
  const auto dir = testing::scratch_dir("npy_raw_write_bad");
  auto array = patterned(npy::ElementType::Int32, {2, 2});
  array.bytes.pop_back();
  try {
    npy::write_raw(dir / "w.npy", array);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("w.npy: npy shape (2, 2) holds 4 values, got 15 bytes"),
              std::string::npos)
        << e.what();
  }
  array.shape = {-1, 4};
  EXPECT_THROW(npy::write_raw(dir / "w.npy", array), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "w.npy"));
  EXPECT_FALSE(std::filesystem::exists(dir / "w.npy.tmp"));
}

TEST(Npy, ReadF32RejectsOtherTypesNamingTheFile) {
  const auto dir = testing::scratch_dir("npy_f32_type");
  npy::write_raw(dir / "ids.npy", patterned(npy::ElementType::Int64, {3}));
  try {
    npy::read_f32(dir / "ids.npy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_NE(std::string(e.what()).find(
                  "ids.npy: not a float32 C-order .npy file: descr is '<i8' (int64), not '<f4'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace vlmrt
