// The MOTChallenge text format (mot_format.h): writing with the shortest exact decimals, reading
// with an error naming the file, the line and the problem. The +1 of MOT's 1-based fields lives here.
#include "data/mot_format.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <utility>

#include "io/file_util.h"
#include "tensor/error.h"

namespace iris::data {

namespace {

// The shortest decimal text that reads back as exactly `v`.
std::string shortest_number(double v) {
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return v == 0 ? "0" : buf;  // no "-0"
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

std::string format_mot(const std::vector<MotBox>& boxes) {
  std::string text;
  for (const MotBox& b : boxes) {
    IRIS_CHECK(b.frame >= 0, "format_mot: frame ", b.frame, " must be >= 0 (0-based; files count from 1)");
    IRIS_CHECK(std::isfinite(b.left) && std::isfinite(b.top) && std::isfinite(b.width) && std::isfinite(b.height) &&
                   std::isfinite(b.conf) && std::isfinite(b.visibility),
               "format_mot: frame ", b.frame, " id ", b.id, " has a non-finite value");
    IRIS_CHECK(b.width >= 0 && b.height >= 0, "format_mot: frame ", b.frame, " id ", b.id, " has a negative size ",
               b.width, " x ", b.height);
    text += cat_str(b.frame + 1, ",", b.id, ",", shortest_number(b.left + 1), ",", shortest_number(b.top + 1), ",",
                    shortest_number(b.width), ",", shortest_number(b.height), ",", shortest_number(b.conf), ",", b.cls,
                    ",", shortest_number(b.visibility), "\n");
  }
  return text;
}

void write_mot(const std::string& path, const std::vector<MotBox>& boxes) {
  write_file_atomic(path, format_mot(boxes));
}

std::vector<MotBox> parse_mot(const std::string& text, const std::string& name) {
  std::vector<MotBox> boxes;
  std::set<std::pair<int, int>> seen;  // (frame, id)
  size_t start = 0;
  int line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto where = [&]() { return cat_str("read_mot: ", name, " line ", line_number, ": "); };
    std::vector<double> values;
    // Commas separate the values; a line without any may use spaces or tabs (motmetrics' loadtxt
    // splits on either).
    if (line.find(',') == std::string::npos) {
      std::string spaced;
      bool in_gap = true;
      for (char ch : line) {
        const bool gap = ch == ' ' || ch == '\t';
        if (gap && !in_gap) spaced += ',';
        if (!gap) spaced += ch;
        in_gap = gap;
      }
      if (!spaced.empty() && spaced.back() == ',') spaced.pop_back();
      line = spaced;
    }
    size_t pos = 0;
    for (;;) {
      size_t comma = line.find(',', pos);
      std::string field = line.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      size_t a = field.find_first_not_of(" \t"), b = field.find_last_not_of(" \t");
      field = a == std::string::npos ? std::string() : field.substr(a, b - a + 1);
      IRIS_CHECK(!field.empty(), where(), "value ", values.size() + 1, " is empty in '", line, "'");
      char* stop = nullptr;
      double v = std::strtod(field.c_str(), &stop);
      IRIS_CHECK(stop && *stop == '\0' && std::isfinite(v), where(), "value ", values.size() + 1, " '", field,
                 "' is not a finite number");
      values.push_back(v);
      IRIS_CHECK(values.size() <= 10, where(), "more than 10 values; MOT lines hold 6 to 10");
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    IRIS_CHECK(values.size() >= 6, where(), values.size(),
               " values; a MOT line holds at least frame, id, left, top, width, height");
    auto integer = [&](double v, const char* what) {
      IRIS_CHECK(v == std::floor(v) && std::fabs(v) < 2e9, where(), what, " ", v, " must be an integer");
      return static_cast<int>(v);
    };
    MotBox box;
    int frame = integer(values[0], "frame");
    IRIS_CHECK(frame >= 1, where(), "frame ", frame, " must be >= 1 (MOT frames count from 1)");
    box.frame = frame - 1;
    box.id = integer(values[1], "id");
    box.left = values[2] - 1;
    box.top = values[3] - 1;
    box.width = values[4];
    box.height = values[5];
    IRIS_CHECK(box.width >= 0 && box.height >= 0, where(), "negative box size ", box.width, " x ", box.height);
    if (values.size() >= 7) box.conf = values[6];
    if (values.size() == 8 || values.size() == 9) box.cls = integer(values[7], "class");
    if (values.size() == 9) {
      box.visibility = values[8];
      IRIS_CHECK(box.visibility == -1 || (box.visibility >= 0 && box.visibility <= 1), where(), "visibility ",
                 box.visibility, " must be in [0, 1] (or -1: unknown)");
    }
    if (box.id >= 0)
      IRIS_CHECK(seen.insert({box.frame, box.id}).second, where(), "id ", box.id, " appears twice in frame ", frame);
    boxes.push_back(box);
  }
  return boxes;
}

std::vector<MotBox> read_mot(const std::string& path) { return parse_mot(read_file(path), path); }

std::vector<MotBox> keep_confident(const std::vector<MotBox>& boxes, double min_confidence) {
  std::vector<MotBox> kept;
  for (const MotBox& b : boxes)
    if (b.conf >= min_confidence) kept.push_back(b);
  return kept;
}

}  // namespace iris::data
