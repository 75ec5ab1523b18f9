// libFuzzer target for the safetensors header parser, the code SafetensorsFile::open runs on
// every file: any input must give a vlmrt::Error or a header that is internally consistent.
// A crash, a sanitizer report, another exception type or a broken invariant is a bug.
//
// The writer is exercised too: every header that parses is re-serialized with its tensors and
// metadata, and the result must parse back to the same tensors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>

#include "core/safetensors.hpp"
#include "vlmrt/errors.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();  // libFuzzer reports the input as a crash
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span file(reinterpret_cast<const std::byte*>(data), size);
  vlmrt::SafetensorsLimits limits;
  limits.max_header_bytes = 1 << 20;  // small inputs only; the checks are the same at any size

  vlmrt::SafetensorsHeader header;
  try {
    header = vlmrt::parse_safetensors_header(file, "fuzz.safetensors", limits);
  } catch (const vlmrt::Error&) {
    return 0;
  }
  check(header.data_offset >= 8 && header.data_offset + header.data_size == file.size());
  const auto data_section = file.subspan(header.data_offset);
  vlmrt::SafetensorsWriter writer;
  std::map<std::string, const vlmrt::TensorInfo*> by_name;
  std::uint64_t previous_end = 0;
  for (const auto& info : header.tensors) {
    check(info.data_begin <= info.data_end && info.data_end <= header.data_size);
    check(info.element_count() >= 0);
    check(info.byte_size() ==
          static_cast<std::uint64_t>(info.element_count()) * vlmrt::dtype_size(info.dtype));
    if (info.byte_size() > 0) {
      check(info.data_begin >= previous_end);  // sorted by offset and non-overlapping
      previous_end = info.data_end;
    }
    check(by_name.emplace(info.name, &info).second);
    const auto bytes = data_section.subspan(info.data_begin, info.byte_size());
    writer.add(info.name, info.dtype, info.shape, bytes);  // copies: ASan checks the bounds
  }
  for (const auto& [key, value] : header.metadata) writer.set_metadata(key, value);

  const auto rewritten = writer.serialize();
  const auto again = vlmrt::parse_safetensors_header(rewritten, "rewritten", limits);
  check(again.data_offset % 8 == 0);
  check(again.metadata == header.metadata);
  check(again.tensors.size() == header.tensors.size());
  for (const auto& info : again.tensors) {
    const auto original = by_name.find(info.name);
    check(original != by_name.end());
    check(original->second->dtype == info.dtype && original->second->shape == info.shape);
  }
  return 0;
}
