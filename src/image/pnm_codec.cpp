// Netpbm decoding (P1–P6), following Pillow's PpmImagePlugin (9.4): its header tokeniser, its
// sample scaling round(v / maxval · 255) (Python rounding: half to even), and its mode choice:
// a PGM with maxval > 255 opens as mode "I" scaled to 0..65535, which convert("RGB") then clamps
// to 0..255 rather than shifting.
#include <cmath>
#include <cstring>
#include <string>

#include "image/codecs.hpp"

namespace vlmrt::image_codec {
namespace {

constexpr std::string_view kFormat = "PNM";

bool is_space(std::uint8_t c) {
  return c == ' ' || (c >= 0x09 && c <= 0x0d);
}

struct Cursor {
  std::span<const std::uint8_t> data;
  std::size_t pos = 0;
  std::string_view source_name;

  // Pillow's _read_token: skips whitespace, drops '#' comments up to a CR/LF (without ending the
  // token) and consumes the one whitespace byte that ends the token.
  std::int64_t header_number(const char* field) {
    std::string token;
    while (token.size() <= 10) {
      if (pos >= data.size()) break;
      const std::uint8_t c = data[pos++];
      if (is_space(c)) {
        if (token.empty()) continue;
        break;
      }
      if (c == '#') {
        while (pos < data.size() && data[pos] != '\r' && data[pos] != '\n') ++pos;
        if (pos < data.size()) ++pos;
        continue;
      }
      token.push_back(static_cast<char>(c));
    }
    if (token.empty())
      throw_format(source_name, kFormat, std::string("the header ends before the ") + field);
    if (token.size() > 10)
      throw_format(source_name, kFormat, std::string("the ") + field + " token is too long");
    std::size_t i = 0;
    bool negative = false;
    if (token[0] == '+' || token[0] == '-') negative = token[i++] == '-';
    if (i == token.size())
      throw_format(source_name, kFormat, std::string("the ") + field + " is not a number");
    std::int64_t value = 0;
    for (; i < token.size(); ++i) {
      if (token[i] < '0' || token[i] > '9')
        throw_format(source_name, kFormat,
                     std::string("the ") + field + " '" + token + "' is not a number");
      value = value * 10 + (token[i] - '0');
    }
    return negative ? -value : value;
  }
};

std::uint8_t scaled(std::uint32_t v, std::uint32_t maxval, double out_max) {
  const double x = std::nearbyint(static_cast<double>(v) / maxval * out_max);
  return static_cast<std::uint8_t>(x > 255.0 ? 255.0 : x);
}

// Pillow's plain-format decoder first deletes '#' comments together with their CR/LF.
std::string strip_comments(std::span<const std::uint8_t> text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '#') {
      out.push_back(static_cast<char>(text[i]));
      continue;
    }
    while (i < text.size() && text[i] != '\r' && text[i] != '\n') ++i;
  }
  return out;
}

}  // namespace

ImageRgb8 decode_pnm(std::span<const std::uint8_t> bytes, const DecodeOptions& options,
                     std::string_view source_name) {
  Cursor cur{bytes, 0, source_name};
  std::string magic;
  while (magic.size() < 6 && cur.pos < bytes.size()) {
    const std::uint8_t c = bytes[cur.pos++];
    if (is_space(c)) break;
    magic.push_back(static_cast<char>(c));
  }
  if (magic.size() != 2)
    throw_unsupported(source_name, kFormat,
                      "unknown magic '" + magic + "' (expected P1 to P6 followed by whitespace)");
  const char kind = magic[1];
  const bool bitonal = kind == '1' || kind == '4';
  const bool plain = kind <= '3';
  const int channels = (kind == '3' || kind == '6') ? 3 : 1;

  const std::int64_t width = cur.header_number("width");
  const std::int64_t height = cur.header_number("height");
  std::uint32_t maxval = 1;
  if (!bitonal) {
    const std::int64_t m = cur.header_number("maxval");
    if (m <= 0 || m >= 65536)
      throw_format(source_name, kFormat, "maxval " + std::to_string(m) + " is outside 1..65535");
    maxval = static_cast<std::uint32_t>(m);
  }
  check_dimensions(width, height, options, source_name, kFormat);
  const int w = static_cast<int>(width), h = static_cast<int>(height);
  const std::size_t samples = static_cast<std::size_t>(w) * h * channels;
  const auto rest = bytes.subspan(cur.pos);
  const auto truncated = [&] { throw_format(source_name, kFormat, "the pixel data is truncated"); };

  // A grayscale file with maxval > 255 is Pillow mode "I" (0..65535), clamped by convert("RGB").
  const double out_max = (channels == 1 && maxval > 255) ? 65535.0 : 255.0;
  ImageRgb8 image = allocate_rgb(w, h);
  std::uint8_t* out = image.data();
  const auto put = [&](std::size_t i, std::uint8_t v) {
    if (channels == 3) {
      out[i] = v;
    } else {
      out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = v;
    }
  };

  if (kind == '4') {
    const std::size_t row_bytes = (static_cast<std::size_t>(w) + 7) / 8;
    if (row_bytes * h > rest.size()) truncated();
    for (int y = 0; y < h; ++y) {
      const std::uint8_t* row = rest.data() + row_bytes * y;
      for (int x = 0; x < w; ++x)
        put(static_cast<std::size_t>(y) * w + x, (row[x >> 3] >> (7 - (x & 7)) & 1) ? 0 : 255);
    }
  } else if (!plain) {
    const std::size_t sample_bytes = maxval < 256 ? 1 : 2;
    if (samples > rest.size() / sample_bytes) truncated();
    std::vector<std::uint8_t> lut(sample_bytes == 1 ? 256 : 65536);
    for (std::uint32_t v = 0; v < lut.size(); ++v) lut[v] = scaled(v, maxval, out_max);
    const std::uint8_t* in = rest.data();
    if (sample_bytes == 1) {
      for (std::size_t i = 0; i < samples; ++i) put(i, lut[in[i]]);
    } else {
      for (std::size_t i = 0; i < samples; ++i) put(i, lut[(in[2 * i] << 8) | in[2 * i + 1]]);
    }
  } else {
    const std::string text = strip_comments(rest);
    std::size_t i = 0, filled = 0;
    if (kind == '1') {
      // Plain PBM: every non-space byte is one pixel, '1' black and '0' white.
      for (const char c : text) {
        if (is_space(static_cast<std::uint8_t>(c))) continue;
        if (c != '0' && c != '1')
          throw_format(source_name, kFormat,
                       std::string("invalid character '") + c + "' in plain PBM data");
        if (filled < samples) put(filled++, c == '1' ? 0 : 255);
      }
    } else {
      while (filled < samples) {
        while (i < text.size() && is_space(static_cast<std::uint8_t>(text[i]))) ++i;
        if (i == text.size()) break;
        const std::size_t start = i;
        while (i < text.size() && !is_space(static_cast<std::uint8_t>(text[i]))) ++i;
        const std::string_view token(text.data() + start, i - start);
        if (token.size() > 10)
          throw_format(source_name, kFormat, "a sample token is longer than 10 characters");
        std::size_t k = token[0] == '+' ? 1 : 0;
        if (k == token.size()) throw_format(source_name, kFormat, "a sample is not a number");
        std::uint64_t v = 0;
        for (; k < token.size(); ++k) {
          if (token[k] < '0' || token[k] > '9')
            throw_format(source_name, kFormat,
                         "sample '" + std::string(token) + "' is not a non-negative number");
          v = v * 10 + static_cast<unsigned>(token[k] - '0');
        }
        if (v > maxval)
          throw_format(source_name, kFormat,
                       "sample " + std::to_string(v) + " exceeds maxval " + std::to_string(maxval));
        put(filled++, scaled(static_cast<std::uint32_t>(v), maxval, out_max));
      }
    }
    if (filled < samples) truncated();
  }
  return image;
}

std::vector<std::uint8_t> encode_ppm(const ImageRgb8& image) {
  const std::string header =
      "P6\n" + std::to_string(image.width()) + " " + std::to_string(image.height()) + "\n255\n";
  const std::size_t row_bytes = static_cast<std::size_t>(image.width()) * 3;
  std::vector<std::uint8_t> out(header.begin(), header.end());
  out.reserve(header.size() + row_bytes * image.height());
  for (int y = 0; y < image.height(); ++y)
    out.insert(out.end(), image.row(y), image.row(y) + row_bytes);
  return out;
}

}  // namespace vlmrt::image_codec
