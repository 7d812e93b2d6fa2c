// MOTChallenge text files (MOT16/17 ground truth and tracker results): one box per line, fields
// counted from 1 as the benchmark does, held here in the tree's 0-based pixel convention (MotBox).
// Leaves out: MOT20's and KITTI's variants, and evaluation (metrics/mot.h).
#pragma once

#include <string>
#include <vector>

#include "geometry/box.h"

namespace iris::data {

// One line per box: frame, id, bb_left, bb_top, bb_width, bb_height, conf, class, visibility
// (ground truth, 9 values) or frame, id, left, top, width, height, conf, x, y, z (results, 10
// values). MOTChallenge numbers frames, ids and box pixels from 1: a box whose 0-based left column
// is x0 is written with bb_left = x0 + 1. MotBox holds 0-based pixels, so the +1 lives only here.
struct MotBox {
  int frame = 0;            // 0-based frame index (written + 1)
  int id = 0;               // track id (ground truth: >= 1; detections: -1)
  double left = 0, top = 0, width = 0, height = 0;  // 0-based pixels; amodal boxes may leave the frame
  double conf = 1;          // ground truth: 1 = evaluate, 0 = ignore; results: the score
  int cls = -1;             // ground truth class (here the Fashion-MNIST label + 1); -1 when absent
  double visibility = -1;   // [0, 1]; -1 when absent
  Box box() const { return box_from_size(left, top, width, height); }  // corners, x1/y1 exclusive
};

// Ground-truth lines (9 values); each box's cls and visibility must be set.
std::string format_mot(const std::vector<MotBox>& boxes);
void write_mot(const std::string& path, const std::vector<MotBox>& boxes);  // atomic
// Lines of 6 to 10 comma-separated numbers (spaces and a trailing CR are fine; blank lines are
// skipped; a line without commas may separate its values by spaces or tabs). 9 values: ground truth; 10 values: results (x, y, z ignored). Malformed lines throw
// iris::Error naming the file, the line number and what is wrong: too few or too many values, a
// value that is not a number, a frame < 1, a non-integer frame/id/class, a negative width or
// height, a visibility outside [0, 1], an id twice in one frame (ids >= 0).
std::vector<MotBox> parse_mot(const std::string& text, const std::string& name = "<text>");
std::vector<MotBox> read_mot(const std::string& path);

// The rows py-motmetrics' loadtxt keeps for evaluation: conf >= min_confidence. Ground truth: 1
// (its eval_motchallenge's min_confidence=1, dropping the conf-0 "do not evaluate" rows); tracker
// results: -1 (loadtxt's default). The class and visibility columns select nothing (nor in
// motmetrics). A line without a conf value reads as conf 1 here (motmetrics would drop it: NaN).
std::vector<MotBox> keep_confident(const std::vector<MotBox>& boxes, double min_confidence);

}  // namespace iris::data
