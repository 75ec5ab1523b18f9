#include "models/model_image_processor.hpp"

#include <string>

#include "core/json.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt {
namespace {

namespace fs = std::filesystem;

// The prompt builders refuse more (models/paligemma/prompt.hpp, models/smolvlm/prompt.hpp); real
// models use 64..4096.
constexpr std::int64_t kMaxImageSeqLen = 16384;

// Tokens per frame come from config.json; the processor files' own counts, when present, must
// agree, or the prompt and the vision tower would disagree on the image block length.
int checked_image_seq_len(const ModelConfig& model, const fs::path& dir,
                          const ImageProcessorConfig& processor) {
  if (model.image_seq_len <= 0 || model.image_seq_len > kMaxImageSeqLen)
    throw Error(ErrorKind::Format, (dir / "config.json").string() + ": implies " +
                                       std::to_string(model.image_seq_len) +
                                       " image tokens per frame, expected 1.." +
                                       std::to_string(kMaxImageSeqLen));
  const int seq = static_cast<int>(model.image_seq_len);
  const auto disagree = [&](const fs::path& file, const char* field, long long value) {
    throw Error(ErrorKind::Format, file.string() + ": " + field + " " + std::to_string(value) +
                                       " disagrees with config.json, which implies " +
                                       std::to_string(seq) + " image tokens per frame");
  };
  if (processor.image_seq_length && *processor.image_seq_length != seq)
    disagree(dir / "preprocessor_config.json", "image_seq_length", *processor.image_seq_length);
  const auto processor_path = dir / "processor_config.json";
  std::error_code ec;
  if (fs::exists(processor_path, ec)) {
    const json::Json file = json::read_file(processor_path, 1u << 20);
    if (const auto n = json::get_optional<int>(file, "image_seq_len", processor_path.string());
        n && *n != seq)
      disagree(processor_path, "image_seq_len", *n);
  }
  return seq;
}

}  // namespace

ModelImageProcessor::ModelImageProcessor(ModelFamily family, int image_seq_len, Family processor)
    : family_(family), image_seq_len_(image_seq_len), processor_(std::move(processor)) {}

ModelImageProcessor ModelImageProcessor::load(const fs::path& dir, const ModelConfig& model) {
  ImageProcessorConfig config = load_image_processor_config(dir, model.family);
  const int seq_len = checked_image_seq_len(model, dir, config);
  if (is_paligemma(model.family))
    return {model.family, seq_len, paligemma::ImageProcessor(std::move(config))};
  return {model.family, seq_len, smolvlm::ImageProcessor(std::move(config))};
}

const ImageProcessorConfig& ModelImageProcessor::config() const noexcept {
  return std::visit([](const auto& p) -> const ImageProcessorConfig& { return p.config(); },
                    processor_);
}

std::vector<ImageGrid> ModelImageProcessor::layout(std::span<const ImageRgb8> images) const {
  std::vector<ImageGrid> grids;
  grids.reserve(images.size());
  int next_frame = 0;
  for (const auto& image : images) {
    ImageGrid grid;
    grid.first_frame = next_frame;
    grid.num_frames = 1;  // PaliGemma: one stretched frame per image (MODELS.md §5.1)
    if (const auto* smol = std::get_if<smolvlm::ImageProcessor>(&processor_)) {
      const smolvlm::FramePlan plan = smol->plan({image.width(), image.height()});
      grid.rows = plan.rows;
      grid.cols = plan.cols;
      grid.num_frames = plan.num_frames;
    }
    next_frame += grid.num_frames;
    grids.push_back(grid);
  }
  return grids;
}

PixelBatch ModelImageProcessor::process(std::span<const ImageRgb8> images) const {
  if (images.empty()) return {};
  return std::visit([&](const auto& p) { return p.process(images); }, processor_);
}

}  // namespace vlmrt
