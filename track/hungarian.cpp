// Shortest augmenting path assignment (hungarian.h): one Dijkstra over the columns per row, with
// dual potentials u (rows) and v (columns) keeping the reduced costs non-negative.
#include "track/hungarian.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace iris::track {

namespace {

// Assigns every row of a rows x cols matrix (rows <= cols, all entries finite) to a distinct column
// at minimum total cost; returns col_of_row.
std::vector<int> solve_wide(const std::vector<double>& input, int rows, int cols) {
  // Costs shifted to be non-negative (the optimum does not move).
  const double lowest_entry = *std::min_element(input.begin(), input.end());
  std::vector<double> cost(input.size());
  for (size_t k = 0; k < input.size(); ++k) cost[k] = input[k] - lowest_entry;

  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(rows, 0), v(cols, 0), dist(cols);
  std::vector<int> came_from(cols, -1), col_of_row(rows, -1), row_of_col(cols, -1);
  std::vector<char> row_seen(rows), col_done(cols);
  std::vector<int> open;  // columns not yet settled in this search
  for (int start = 0; start < rows; ++start) {
    std::fill(row_seen.begin(), row_seen.end(), 0);
    std::fill(col_done.begin(), col_done.end(), 0);
    std::fill(dist.begin(), dist.end(), inf);
    open.resize(cols);
    for (int k = 0; k < cols; ++k) open[k] = cols - 1 - k;  // last column first: a constant matrix gives the identity
    double reached = 0;  // length of the shortest path settled so far
    int row = start, sink = -1;
    while (sink < 0) {
      row_seen[row] = 1;
      int best = -1;
      double best_dist = inf;
      for (int k = 0; k < static_cast<int>(open.size()); ++k) {
        const int c = open[k];
        const double d = reached + cost[static_cast<size_t>(row) * cols + c] - u[row] - v[c];
        if (d < dist[c]) {
          dist[c] = d;
          came_from[c] = row;
        }
        // Among equally short columns prefer a free one: it ends the search.
        if (dist[c] < best_dist || (dist[c] == best_dist && row_of_col[c] < 0)) {
          best_dist = dist[c];
          best = k;
        }
      }
      IRIS_CHECK(best >= 0 && best_dist < inf, "linear_assignment: internal error, no augmenting path");
      reached = best_dist;
      const int c = open[best];
      col_done[c] = 1;
      open[best] = open.back();
      open.pop_back();
      if (row_of_col[c] < 0)
        sink = c;
      else
        row = row_of_col[c];
    }
    // New potentials: reduced costs stay >= 0 and are 0 along the matching.
    u[start] += reached;
    for (int r = 0; r < rows; ++r)
      if (row_seen[r] && r != start) u[r] += reached - dist[col_of_row[r]];
    for (int c = 0; c < cols; ++c)
      if (col_done[c]) v[c] -= reached - dist[c];
    // Flip the path from the sink back to the start row.
    int c = sink;
    for (;;) {
      const int r = came_from[c];
      row_of_col[c] = r;
      std::swap(col_of_row[r], c);
      if (r == start) break;
    }
  }
  return col_of_row;
}

}  // namespace

Assignment linear_assignment(const std::vector<double>& cost, int rows, int cols, double threshold) {
  IRIS_CHECK(rows >= 0 && cols >= 0, "linear_assignment: negative size ", rows, " x ", cols);
  IRIS_CHECK(cost.size() == static_cast<size_t>(rows) * static_cast<size_t>(cols), "linear_assignment: ",
             cost.size(), " costs for a ", rows, " x ", cols, " matrix");
  const size_t n = cost.size();
  std::vector<char> allowed(n);
  bool any_forbidden = false, any_allowed = false;
  double largest = 0;
  for (size_t k = 0; k < n; ++k) {
    IRIS_CHECK(cost[k] != -std::numeric_limits<double>::infinity(), "linear_assignment: entry (", k / cols, ", ",
               k % cols, ") is -inf");
    allowed[k] = std::isfinite(cost[k]) && !(cost[k] > threshold);
    if (allowed[k]) {
      any_allowed = true;
      largest = std::max(largest, std::fabs(cost[k]));
    } else {
      any_forbidden = true;
    }
  }
  Assignment out;
  std::vector<int> col_of_row(rows, -1);
  if (any_allowed) {
    // Forbidden entries become one constant larger than any difference of allowed totals
    // (motmetrics.lap.add_expensive_edges), so more allowed pairs always win.
    const double big = 2.0 * std::min(rows, cols) * (largest + 1) + 1;
    const bool transpose = cols < rows;
    const int r_wide = transpose ? cols : rows, c_wide = transpose ? rows : cols;
    std::vector<double> wide(n);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        const size_t k = static_cast<size_t>(r) * cols + c;
        const double value = any_forbidden && !allowed[k] ? big : cost[k];
        wide[transpose ? static_cast<size_t>(c) * rows + r : k] = value;
      }
    std::vector<int> solved = solve_wide(wide, r_wide, c_wide);
    for (int i = 0; i < r_wide; ++i) {
      const int r = transpose ? solved[i] : i, c = transpose ? i : solved[i];
      if (allowed[static_cast<size_t>(r) * cols + c]) col_of_row[r] = c;
    }
  }
  std::vector<char> col_used(cols, 0);
  for (int r = 0; r < rows; ++r) {
    const int c = col_of_row[r];
    if (c < 0) {
      out.unmatched_rows.push_back(r);
      continue;
    }
    out.pairs.push_back({r, c});
    out.cost += cost[static_cast<size_t>(r) * cols + c];
    col_used[c] = 1;
  }
  for (int c = 0; c < cols; ++c)
    if (!col_used[c]) out.unmatched_cols.push_back(c);
  return out;
}

}  // namespace iris::track
