// The ablation's bar chart: one horizontal bar per arm (test top-1), labelled with the arm, its
// parameter count and the value; a dashed line marks a reference arm (the teacher).
// Leaves out: error bars and grouped bars (one seed, one task), vertical layout.
#pragma once

#include <string>
#include <vector>

#include "data/image.h"

namespace iris {

struct ArmBar {
  std::string name;
  double top1 = 0;     // percent; non-finite: drawn as "n/a"
  int64_t params = 0;
};

// reference: index of the arm whose value gets a dashed vertical line (-1: none).
Image render_arm_chart(const std::string& title, const std::vector<ArmBar>& arms, int reference = -1);

}  // namespace iris
