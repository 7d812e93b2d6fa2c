// OUTrack's unsupervised re-ID loss (Liu et al. 2022; papers/outrack.md 5.2, the official `CycleLoss`): the
// embeddings of two frames of one video (N current, M previous objects, no identity labels) are matched to
// each other through a row-softmax over their cosine similarities plus a placeholder column, and three terms
// ask that same-frame objects never match (within-frame), that the forward and backward assignments agree
// (cycle) and that each row is one confident match or the placeholder (margin).
// Leaves out: negative pairs (the released loader turns them off for this loss, 5.2), CycAs and the supervised
// cross-entropy baseline, and sampling the embeddings at the object centres (the app's job).
#pragma once

#include <vector>

#include "autograd/ops.h"

namespace iris::losses {

// The placeholder column's value (5.2 "Dynamic placeholder"): the mean (the default) or the lower median of the
// valid (off-diagonal) similarities, detached; zero; or none (no column: the unsup-no-placeholder arm).
enum class Placeholder { mean, median, zero, none };

struct CycleLossOptions {
  double epsilon = 0.5;                       // t = log(K + 1) / epsilon, K = columns of the assignment (5.2)
  double margin = 0.5;                        // m of the margin term
  Placeholder placeholder = Placeholder::mean;
  bool cycle_term = true;                     // false: the unsup-no-cycle arm
  bool within_frame_term = true;
  bool margin_term = true;
};

// The three sums of one frame pair, before the division by N + M (scalars, same dtype as the embeddings).
struct CycleLossTerms {
  Tensor within_frame, cycle, margin;  // a term that is switched off is 0 (a constant)
  Tensor total() const { return within_frame + cycle + margin; }
};

// The assignment A = row-softmax(t [S | p]) of one pair: current [N, D], previous [M, D] (raw embeddings; they
// are L2-normalised here) -> [N + M, N + M + 1] with a placeholder column, [N + M, N + M] with Placeholder::none.
// S = F F^T with F = [cur; pre] normalised, diagonal -inf. Needs N + M >= 1 (>= 2 without a placeholder).
Tensor cycle_assignment(const Tensor& current, const Tensor& previous, const CycleLossOptions& options = {});

// The three sums for one pair (A as above):
//   within-frame  sum |A[cur, cur]| + sum |A[pre, pre]|
//   cycle         sum |A[cur, pre] - A[pre, cur]^T|                       (0 when N or M is 0)
//   margin        sum_rows relu(second_largest(A_row) - largest(A_row) + m), the placeholder column included
// An empty pair (N + M = 0), or a single object without a placeholder, contributes zeros.
CycleLossTerms cycle_loss_terms(const Tensor& current, const Tensor& previous, const CycleLossOptions& options = {});

// The loss of a batch of pairs: the sum of every pair's three terms divided by the total N + M over the batch
// (5.2 "summed, then divided by N+M summed over the batch"); currents[b] [N_b, D], previouses[b] [M_b, D].
// A batch with no object at all gives 0.
Tensor cycle_loss(const std::vector<Tensor>& currents, const std::vector<Tensor>& previouses,
                  const CycleLossOptions& options = {});

}  // namespace iris::losses
