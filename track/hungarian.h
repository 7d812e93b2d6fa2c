// Rectangular linear assignment (minimum total cost), the solver behind tracking's per-frame
// matching and IDF1's global identity matching. The algorithm is the shortest augmenting path
// method of Crouse (2016) as scipy.optimize.linear_sum_assignment runs it (a Jonker-Volgenant
// style Dijkstra over columns, the wide orientation, ties going to a free column and the columns
// scanned last-to-first), so on the same matrix it returns the same pairs as scipy, ties included.
//
// cost: rows x cols, row-major (cost[r * cols + c]); either side may be 0. Forbidden pairs: an entry
// that is +inf or NaN, or above `threshold` when one is given. With forbidden pairs the problem is
// the one py-motmetrics solves (motmetrics.lap with scipy): the most allowed pairs first, then the
// least cost among those — forbidden entries become one large constant 2 * min(rows, cols) *
// (max |allowed| + 1) + 1, the full problem is solved, and the pairs landing on forbidden entries
// are dropped. Without forbidden pairs that is scipy's plain answer.
// Leaves out: maximisation (negate the costs), sparse matrices, and -inf entries (an error).
#pragma once

#include <limits>
#include <utility>
#include <vector>

namespace iris::track {

struct Assignment {
  std::vector<std::pair<int, int>> pairs;  // (row, col), sorted by row; only allowed pairs
  std::vector<int> unmatched_rows;         // ascending
  std::vector<int> unmatched_cols;         // ascending
  double cost = 0;                         // sum of the matched entries
};

// Throws iris::Error when cost.size() != rows * cols, a size is negative, or an entry is -inf.
Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols,
                             double threshold = std::numeric_limits<double>::infinity());

}  // namespace iris::track
