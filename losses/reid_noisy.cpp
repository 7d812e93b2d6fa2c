// PNL's losses, label correction and state updates (reid_noisy.h), composed from autograd ops; the
// correction, the queue and the prototype update run under NoGradGuard (papers/pnl.md 4.3).
#include "losses/reid_noisy.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "losses/contrastive.h"

namespace iris::losses {

namespace {

std::string shape_or_undefined(const Tensor& t) { return t.defined() ? shape_str(t.shape()) : "undefined"; }

// x must be a [B, D] float tensor; names the op and the argument.
void check_features(const char* op, const char* name, const Tensor& x) {
  IRIS_CHECK(x.defined() && x.dim() == 2, op, ": ", name, " must be [B, D], got ", shape_or_undefined(x));
  IRIS_CHECK(is_floating(x.dtype()), op, ": ", name, " must be a float tensor, got ", dtype_name(x.dtype()));
}

// labels must be i64 / i32 [B] on the features' device.
void check_labels(const char* op, const Tensor& labels, int64_t B, Device device) {
  IRIS_CHECK(labels.defined() && labels.dim() == 1 && labels.shape()[0] == B, op, ": labels must be [B] = [", B,
             "], got ", shape_or_undefined(labels));
  IRIS_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32, op,
             ": labels must be i64 or i32 class ids, got ", dtype_name(labels.dtype()));
  IRIS_CHECK(labels.device() == device, op, ": labels must be on the features' device");
}

void check_same_dim(const char* op, const char* a_name, const Tensor& a, const char* b_name, const Tensor& b) {
  IRIS_CHECK(a.shape()[1] == b.shape()[1] && a.dtype() == b.dtype() && a.device() == b.device(), op, ": ", a_name,
             " ", shape_str(a.shape()), " and ", b_name, " ", shape_str(b.shape()),
             " need the same embedding size D, dtype and device");
}

}  // namespace

Tensor prototype_logits(const Tensor& q, const Tensor& prototypes, double temperature) {
  check_features("prototype_logits", "q", q);
  check_features("prototype_logits", "prototypes", prototypes);
  check_same_dim("prototype_logits", "q", q, "prototypes", prototypes);
  IRIS_CHECK(temperature > 0, "prototype_logits: temperature must be > 0, got ", temperature);
  return matmul(q, prototypes.detach().t()) / temperature;  // [B, D] x [D, K] -> [B, K]
}

Tensor correct_labels(const Tensor& class_logits, const Tensor& proto_logits, const Tensor& labels, double alpha,
                      double threshold) {
  check_features("correct_labels", "class_logits", class_logits);
  IRIS_CHECK(proto_logits.defined() && proto_logits.shape() == class_logits.shape(),
             "correct_labels: class_logits ", shape_str(class_logits.shape()), " and proto_logits ",
             shape_or_undefined(proto_logits), " must both be [B, K] with the same shape");
  check_labels("correct_labels", labels, class_logits.shape()[0], class_logits.device());
  IRIS_CHECK(alpha >= 0 && alpha <= 1, "correct_labels: alpha must lie in [0, 1], got ", alpha);
  NoGradGuard ng;
  // l = alpha p + (1 - alpha) s [B, K]; (max, argmax) over K.
  Tensor l = alpha * softmax(class_logits.detach(), 1) +
             (1 - alpha) * softmax(proto_logits.detach().to(class_logits.dtype()), 1);
  ValuesIndices best = max(l, 1);
  return where(gt(best.values, threshold), best.indices, labels.to(DType::i64));
}

Tensor prototype_contrastive_loss(const Tensor& q, const Tensor& prototypes, const Tensor& labels,
                                  double temperature) {
  Tensor z = prototype_logits(q, prototypes, temperature);
  check_labels("prototype_contrastive_loss", labels, q.shape()[0], q.device());
  return cross_entropy(z, labels);
}

Tensor label_guided_contrastive_loss(const Tensor& q, const Tensor& k, const Tensor& queue_keys,
                                     const Tensor& queue_labels, const Tensor& labels, bool label_guided,
                                     double temperature) {
  const char* op = "label_guided_contrastive_loss";
  check_features(op, "q", q);
  check_features(op, "k", k);
  check_features(op, "queue_keys", queue_keys);
  IRIS_CHECK(k.shape() == q.shape(), op, ": q and k must have the same shape [B, D], got ", shape_str(q.shape()),
             " and ", shape_str(k.shape()));
  check_same_dim(op, "q", q, "k", k);
  check_same_dim(op, "q", q, "queue_keys", queue_keys);
  const int64_t B = q.shape()[0], Q = queue_keys.shape()[0];
  IRIS_CHECK(queue_labels.defined() && queue_labels.shape() == Shape({Q}) && queue_labels.dtype() == DType::i64, op,
             ": queue_labels must be i64 [Q] = [", Q, "], got ", shape_or_undefined(queue_labels));
  check_labels(op, labels, B, q.device());
  IRIS_CHECK(temperature > 0, op, ": temperature must be > 0, got ", temperature);
  // l_pos [B, 1] = q . k, l_neg [B, Q] = q queue^T; logits [B, 1 + Q] / tau.
  Tensor l_pos = sum(q * k.detach(), {1}, true);
  Tensor l_neg = matmul(q, queue_keys.detach().t());
  Tensor logits = cat({l_pos, l_neg}, 1) / temperature;
  Tensor positives;
  {
    NoGradGuard ng;
    Tensor own = ones({B, 1}, {q.dtype(), q.device()});  // the key of the same image, always positive
    Tensor same = label_guided ? eq(labels.to(DType::i64).reshape({B, 1}), queue_labels.reshape({1, Q})).to(q.dtype())
                               : zeros({B, Q}, {q.dtype(), q.device()});
    positives = cat({own, same}, 1);  // [B, 1 + Q]
  }
  return multi_positive_infonce(logits, positives);
}

LabeledQueue::LabeledQueue(int64_t size, int64_t dim, TensorOptions opts, Generator* gen) {
  IRIS_CHECK(size >= 1 && dim >= 1, "LabeledQueue: size and dim must be >= 1, got ", size, " and ", dim);
  IRIS_CHECK(is_floating(opts.dtype), "LabeledQueue: keys need a float dtype, got ", dtype_name(opts.dtype));
  NoGradGuard ng;
  keys = normalize(randn({size, dim}, opts, gen), 2.0, 1);  // each key a random unit vector
  labels = full({size}, -1.0, {DType::i64, opts.device});
}

void LabeledQueue::enqueue(const Tensor& keys_in, const Tensor& labels_in) {
  IRIS_CHECK(keys.defined(), "LabeledQueue::enqueue: the queue is not built (use LabeledQueue(size, dim))");
  check_features("LabeledQueue::enqueue", "keys", keys_in);
  check_same_dim("LabeledQueue::enqueue", "keys", keys_in, "the queue", keys);
  const int64_t B = keys_in.shape()[0], Q = size();
  check_labels("LabeledQueue::enqueue", labels_in, B, keys.device());
  IRIS_CHECK(B <= Q, "LabeledQueue::enqueue: a batch of ", B, " keys does not fit a queue of ", Q,
             "; use a queue at least as long as the batch");
  NoGradGuard ng;
  Tensor k = keys_in.detach(), y = labels_in.to(DType::i64);
  const int64_t first = std::min(B, Q - ptr);  // rows ptr .. ptr + first - 1, then the rest from row 0
  keys.narrow(0, ptr, first).copy_(k.narrow(0, 0, first));
  labels.narrow(0, ptr, first).copy_(y.narrow(0, 0, first));
  if (first < B) {
    keys.narrow(0, 0, B - first).copy_(k.narrow(0, first, B - first));
    labels.narrow(0, 0, B - first).copy_(y.narrow(0, first, B - first));
  }
  ptr = (ptr + B) % Q;
}

void update_prototypes(Tensor& prototypes, const Tensor& q, const Tensor& labels, double momentum) {
  const char* op = "update_prototypes";
  check_features(op, "prototypes", prototypes);
  check_features(op, "q", q);
  check_same_dim(op, "q", q, "prototypes", prototypes);
  const int64_t B = q.shape()[0], K = prototypes.shape()[0], D = q.shape()[1];
  check_labels(op, labels, B, q.device());
  IRIS_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum must lie in [0, 1], got ", momentum);
  std::vector<int64_t> y = labels.to_vector<int64_t>();
  for (int64_t i = 0; i < B; ++i)
    IRIS_CHECK(y[i] >= 0 && y[i] < K, op, ": label ", y[i], " at row ", i, " is outside [0, ", K, ")");
  NoGradGuard ng;
  // later[i]: how many samples after i share its label; count[c]: how many samples have label c.
  std::vector<double> weight(B), decay(K, 1.0);
  std::vector<int64_t> seen(K, 0);
  for (int64_t i = B - 1; i >= 0; --i) {
    weight[i] = (1 - momentum) * std::pow(momentum, static_cast<double>(seen[y[i]]));
    ++seen[y[i]];
  }
  for (int64_t c = 0; c < K; ++c) decay[c] = std::pow(momentum, static_cast<double>(seen[c]));
  const TensorOptions o{prototypes.dtype(), prototypes.device()};
  Tensor w = from_vector(weight, Shape{B, 1}, o), r = from_vector(decay, Shape{K, 1}, o);
  Tensor index = labels.to(DType::i64).reshape({B, 1}).expand({B, D}).contiguous();
  Tensor moved = scatter_add(prototypes.detach() * r, 0, index, q.detach().to(prototypes.dtype()) * w);  // [K, D]
  prototypes.copy_(normalize(moved, 2.0, 1));
}

PnlLosses pnl_losses(const Tensor& class_logits, const Tensor& q, const Tensor& k, const Tensor& labels,
                     const Tensor& prototypes, const LabeledQueue& queue, const PnlOptions& opts) {
  check_features("pnl_losses", "class_logits", class_logits);
  check_features("pnl_losses", "q", q);
  IRIS_CHECK(class_logits.shape()[0] == q.shape()[0], "pnl_losses: class_logits ", shape_str(class_logits.shape()),
             " and q ", shape_str(q.shape()), " need the same batch size");
  IRIS_CHECK(!opts.correct_labels || opts.use_prototypes,
             "pnl_losses: label correction needs the prototype logits; set use_prototypes too");
  check_labels("pnl_losses", labels, q.shape()[0], q.device());
  PnlLosses out;
  Tensor noisy = labels.to(DType::i64);
  Tensor z;
  if (opts.use_prototypes) z = prototype_logits(q, prototypes, opts.temperature);
  out.labels = opts.correct_labels ? correct_labels(class_logits, z, noisy, opts.alpha, opts.pseudo_threshold) : noisy;
  const Tensor& query_label = opts.query_uses_corrected_label ? out.labels : noisy;
  out.label_guided = label_guided_contrastive_loss(q, k, queue.keys, queue.labels, query_label, opts.label_guided,
                                                   opts.temperature);
  out.classification = cross_entropy(class_logits, out.labels);
  out.total = out.classification + opts.instance_weight * out.label_guided;
  if (opts.use_prototypes) {
    out.prototype = cross_entropy(z, out.labels);
    out.total = out.total + opts.prototype_weight * out.prototype;
  }
  return out;
}

}  // namespace iris::losses
