// LOLWUT [VERSION v [args...]]: computer art and the server version. Redis 7.0 prints only the
// version; VERSION 5 draws a Schotter-like grid of ever more disordered squares in braille
// characters (args: columns, squares per row, squares per column), VERSION 6 a city skyline
// in ANSI colours (args: columns, rows). The pictures are random; our drawings are our own.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "server/command_context.h"
#include "server/commands/families.h"
#include "server/server.h"
#include "server/version.h"

namespace rd {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A black and white picture, printed with one braille character per 2x4 pixels.
class Canvas {
 public:
  Canvas(int width, int height) : width_(width), height_(height), pixels_(static_cast<size_t>(width * height)) {}

  void set(int x, int y) {
    if (x >= 0 && y >= 0 && x < width_ && y < height_) pixels_[static_cast<size_t>(y * width_ + x)] = true;
  }
  bool get(int x, int y) const {
    return x >= 0 && y >= 0 && x < width_ && y < height_ && pixels_[static_cast<size_t>(y * width_ + x)];
  }

  void line(int x0, int y0, int x1, int y1) {
    const int steps = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
    for (int i = 0; i <= steps; i++) {
      const double t = steps == 0 ? 0 : static_cast<double>(i) / steps;
      set(static_cast<int>(std::lround(x0 + (x1 - x0) * t)), static_cast<int>(std::lround(y0 + (y1 - y0) * t)));
    }
  }

  std::string render() const {
    // Dot numbering of a braille cell: column 0 rows 0-2 are bits 0-2, column 1 rows 0-2 bits
    // 3-5, and the bottom row bits 6 (left) and 7 (right).
    static constexpr int kBit[4][2] = {{0, 3}, {1, 4}, {2, 5}, {6, 7}};
    std::string out;
    for (int y = 0; y < height_; y += 4) {
      for (int x = 0; x < width_; x += 2) {
        unsigned dots = 0;
        for (int dy = 0; dy < 4; dy++) {
          for (int dx = 0; dx < 2; dx++) {
            if (get(x + dx, y + dy)) dots |= 1u << kBit[dy][dx];
          }
        }
        // U+2800 + dots, in UTF-8.
        out.push_back(static_cast<char>(0xe2));
        out.push_back(static_cast<char>(0xa0 | (dots >> 6)));
        out.push_back(static_cast<char>(0x80 | (dots & 0x3f)));
      }
      out.push_back('\n');
    }
    return out;
  }

 private:
  int width_;
  int height_;
  std::vector<bool> pixels_;
};

// The optional integer arguments after "VERSION v", clamped to [1, limit].
bool parse_art_args(CommandContext& ctx, std::vector<int64_t>* values, int64_t limit_for(size_t)) {
  for (size_t i = 0; i < values->size() && 3 + i < ctx.argc(); i++) {
    if (!parse_int_arg(ctx, ctx.arg(3 + i), &(*values)[i])) return false;
  }
  for (size_t i = 0; i < values->size(); i++) (*values)[i] = std::clamp<int64_t>((*values)[i], 1, limit_for(i));
  return true;
}

double random_unit(CommandContext& ctx) {
  return static_cast<double>(ctx.server.random64() >> 11) / static_cast<double>(uint64_t{1} << 53);
}

void lolwut_schotter(CommandContext& ctx) {
  std::vector<int64_t> args = {66, 8, 12};  // columns, squares per row, squares per column
  if (!parse_art_args(ctx, &args, [](size_t i) -> int64_t { return i == 0 ? 1000 : 200; })) return;
  const int width = static_cast<int>(args[0]) * 2;
  const int padding = width > 4 ? 2 : 0;
  const double side = static_cast<double>(width - padding * 2) / static_cast<double>(args[1]);
  const int height = static_cast<int>(side * static_cast<double>(args[2])) + padding * 2;
  Canvas canvas(width, height);
  for (int64_t row = 0; row < args[2]; row++) {
    // Order at the top, more and more chaos towards the bottom.
    const double disorder = static_cast<double>(row) / static_cast<double>(args[2]);
    for (int64_t col = 0; col < args[1]; col++) {
      const double cx = padding + side * (static_cast<double>(col) + 0.5) + (random_unit(ctx) - 0.5) * side * disorder;
      const double cy = padding + side * (static_cast<double>(row) + 0.5) + (random_unit(ctx) - 0.5) * side * disorder;
      const double angle = (random_unit(ctx) - 0.5) * kPi / 2 * disorder;
      int corner[4][2];
      for (int k = 0; k < 4; k++) {
        const double a = angle + kPi / 4 + k * kPi / 2;
        corner[k][0] = static_cast<int>(std::lround(cx + std::cos(a) * side / std::sqrt(2.0)));
        corner[k][1] = static_cast<int>(std::lround(cy + std::sin(a) * side / std::sqrt(2.0)));
      }
      for (int k = 0; k < 4; k++) {
        canvas.line(corner[k][0], corner[k][1], corner[(k + 1) % 4][0], corner[(k + 1) % 4][1]);
      }
    }
  }
  std::string text = canvas.render();
  text += "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ";
  text += kRedisVersion;
  text += "\n";
  ctx.reply.verbatim(text);
}

void lolwut_skyline(CommandContext& ctx) {
  std::vector<int64_t> args = {80, 20};  // columns, rows
  if (!parse_art_args(ctx, &args, [](size_t) -> int64_t { return 1000; })) return;
  const int64_t cols = args[0];
  const int64_t rows = args[1];
  // Shades from the sky down to the nearest buildings: white, light grey, dark grey, black.
  static const char* const kShade[] = {"\033[0;97;107m \033[0m", "\033[0;37;47m \033[0m", "\033[0;90;100m \033[0m",
                                       "\033[0;30;40m \033[0m"};
  std::vector<int> picture(static_cast<size_t>(cols * rows), 0);
  for (int layer = 1; layer <= 3; layer++) {
    for (int64_t x = 0; x < cols;) {
      const int64_t building_width = 3 + static_cast<int64_t>(ctx.server.random64() % 6);
      // Farther layers are taller; each building varies a little.
      const int64_t building_height =
          rows * (8 - 2 * layer) / 10 + static_cast<int64_t>(ctx.server.random64() % (rows / 5 + 1));
      for (int64_t bx = x; bx < x + building_width && bx < cols; bx++) {
        for (int64_t y = std::max<int64_t>(0, rows - building_height); y < rows; y++) {
          picture[static_cast<size_t>(y * cols + bx)] = layer;
        }
      }
      x += building_width + static_cast<int64_t>(ctx.server.random64() % 3);
    }
  }
  std::string text;
  for (int64_t y = 0; y < rows; y++) {
    for (int64_t x = 0; x < cols; x++) text += kShade[picture[static_cast<size_t>(y * cols + x)]];
    text += "\n";
  }
  text += "Dedicated to the 8 bit game developers of past and present.\n"
          "Original 8 bit image from Plaguemon by hikikomori. Redis ver. ";
  text += kRedisVersion;
  text += "\n";
  ctx.reply.verbatim(text);
}

void cmd_lolwut(CommandContext& ctx) {
  if (ctx.argc() >= 3 && equals_ignore_case(ctx.arg(1), "version")) {
    int64_t version = 0;
    if (!parse_int_arg(ctx, ctx.arg(2), &version)) return;
    // Redis prints the version as "%u.0.0" and picks the art from that text.
    const uint32_t major = static_cast<uint32_t>(version);
    if (major == 5) return lolwut_schotter(ctx);
    if (major == 6) return lolwut_skyline(ctx);
  }
  ctx.reply.verbatim(std::string("Redis ver. ") + kRedisVersion + "\n");
}

}  // namespace

void register_lolwut_commands(CommandTable& table) { table.add("lolwut", cmd_lolwut); }

}  // namespace rd
