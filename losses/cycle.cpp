// OUTrack's cycle loss (cycle.h), composed from autograd ops so the gradient reaches the embeddings: normalise,
// S = F F^T with a -inf diagonal, append the detached placeholder column, A = softmax(t [S | p]) by rows with
// t = log(K + 1) / epsilon, then the within-frame, cycle and margin sums (papers/outrack.md 5.2).
#include "losses/cycle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace iris::losses {

namespace {

void check_pair(const Tensor& current, const Tensor& previous) {
  IRIS_CHECK(current.defined() && previous.defined(), "cycle_loss: an embedding tensor is undefined");
  IRIS_CHECK(current.dim() == 2 && previous.dim() == 2 && current.shape()[1] == previous.shape()[1],
             "cycle_loss: current and previous embeddings must be [N, D] and [M, D] with one D, got ",
             shape_str(current.shape()), " and ", shape_str(previous.shape()));
  IRIS_CHECK(is_floating(current.dtype()) && current.dtype() == previous.dtype(),
             "cycle_loss: embeddings must share one float dtype, got ", dtype_name(current.dtype()), " and ",
             dtype_name(previous.dtype()));
  IRIS_CHECK(current.device() == previous.device(), "cycle_loss: embeddings must be on one device");
}

// The placeholder value from the valid (off-diagonal) entries of S [T, T] (T >= 2), detached.
double placeholder_value(const Tensor& similarity, Placeholder kind) {
  if (kind == Placeholder::zero) return 0.0;
  std::vector<double> s = similarity.detach().cpu().to(DType::f64).contiguous().to_vector<double>();
  const int64_t T = similarity.shape()[0];
  std::vector<double> valid;
  valid.reserve(static_cast<size_t>(T * (T - 1)));
  for (int64_t i = 0; i < T; ++i)
    for (int64_t j = 0; j < T; ++j)
      if (i != j) valid.push_back(s[static_cast<size_t>(i * T + j)]);
  if (valid.empty()) return 0.0;  // one object: nothing to average, the zero placeholder
  if (kind == Placeholder::mean) {
    double total = 0;
    for (double v : valid) total += v;
    return total / static_cast<double>(valid.size());
  }
  // torch.median: the lower of the two middle values for an even count
  const size_t k = (valid.size() - 1) / 2;
  std::nth_element(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(k), valid.end());
  return valid[k];
}

Tensor zero_like_scalar(const Tensor& like) { return scalar_tensor(0.0, {like.dtype(), like.device()}); }

}  // namespace

Tensor cycle_assignment(const Tensor& current, const Tensor& previous, const CycleLossOptions& options) {
  check_pair(current, previous);
  IRIS_CHECK(options.epsilon > 0, "cycle_loss: epsilon must be > 0, got ", options.epsilon);
  const int64_t N = current.shape()[0], M = previous.shape()[0], T = N + M;
  const bool with_placeholder = options.placeholder != Placeholder::none;
  IRIS_CHECK(T >= (with_placeholder ? 1 : 2), "cycle_loss: the assignment needs at least ",
             with_placeholder ? "one object" : "two objects without a placeholder", ", got N = ", N, ", M = ", M);
  Tensor features = normalize(cat({current, previous}, 0), 2.0, 1);  // F [T, D]
  Tensor similarity = matmul(features, features.t());                  // S [T, T], cosine
  Tensor diagonal = eye(T, T, {DType::b8, current.device()});
  Tensor logits = masked_fill(similarity, diagonal, -std::numeric_limits<double>::infinity());
  if (with_placeholder) {
    const double p = placeholder_value(similarity, options.placeholder);
    logits = cat({logits, full({T, 1}, p, {current.dtype(), current.device()})}, 1);  // [T, T + 1]
  }
  const double K = static_cast<double>(logits.shape()[1]);  // columns: N + M (+ 1)
  const double t = std::log(K + 1) / options.epsilon;
  return softmax(logits * t, 1);
}

CycleLossTerms cycle_loss_terms(const Tensor& current, const Tensor& previous, const CycleLossOptions& options) {
  check_pair(current, previous);
  const int64_t N = current.shape()[0], M = previous.shape()[0], T = N + M;
  CycleLossTerms terms{zero_like_scalar(current), zero_like_scalar(current), zero_like_scalar(current)};
  if (T == 0 || (T == 1 && options.placeholder == Placeholder::none)) return terms;
  Tensor A = cycle_assignment(current, previous, options);  // [T, K]
  if (options.within_frame_term) {
    Tensor total = terms.within_frame;
    if (N > 0) total = total + sum(abs(A.slice(0, 0, N).slice(1, 0, N)));  // A[cur, cur]
    if (M > 0) total = total + sum(abs(A.slice(0, N, T).slice(1, N, T)));  // A[pre, pre]
    terms.within_frame = total;
  }
  if (options.cycle_term && N > 0 && M > 0) {
    Tensor forward = A.slice(0, 0, N).slice(1, N, T);   // A[cur -> pre] [N, M]
    Tensor backward = A.slice(0, N, T).slice(1, 0, N);  // A[pre -> cur] [M, N]
    terms.cycle = sum(abs(forward - backward.t()));
  }
  if (options.margin_term && A.shape()[1] >= 2) {
    // top-2 of each row: the largest, then the largest with the argmax masked out (gradients as torch.topk's)
    ValuesIndices first = max(A, 1, true);  // [T, 1]
    Tensor is_first;
    {
      NoGradGuard ng;
      Tensor columns = arange(0, static_cast<double>(A.shape()[1]), 1, {DType::i64, A.device()}).reshape({1, -1});
      is_first = eq(columns, first.indices);  // [T, K]
    }
    Tensor second = max(masked_fill(A, is_first, -std::numeric_limits<double>::infinity()), 1, true).values;
    terms.margin = sum(relu(second - first.values + options.margin));
  }
  return terms;
}

Tensor cycle_loss(const std::vector<Tensor>& currents, const std::vector<Tensor>& previouses,
                  const CycleLossOptions& options) {
  IRIS_CHECK(currents.size() == previouses.size(), "cycle_loss: ", currents.size(), " current frames but ",
             previouses.size(), " previous frames; pass one pair per sample");
  IRIS_CHECK(!currents.empty(), "cycle_loss: the batch is empty");
  Tensor total;
  int64_t objects = 0;
  for (size_t b = 0; b < currents.size(); ++b) {
    Tensor pair = cycle_loss_terms(currents[b], previouses[b], options).total();
    total = total.defined() ? total + pair : pair;
    objects += currents[b].shape()[0] + previouses[b].shape()[0];
  }
  if (objects == 0) return total;  // zeros
  return total / static_cast<double>(objects);
}

}  // namespace iris::losses
