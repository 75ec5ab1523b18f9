#include "core/npy.hpp"

#include <gtest/gtest.h>

#include <fstream>

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

}  // namespace
}  // namespace vlmrt
