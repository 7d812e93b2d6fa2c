// PNL's losses against PyTorch (tests/golden/pnl_losses.safetensors, written by make_pnl.py), in f64:
// prototype logits and the label-correction rule, the label-guided contrastive loss (plain MoCo and with
// queue positives) with its gradient, one full step (CE + L_pro + L_lgc on corrected labels) with the
// gradients of the class logits and q, the momentum prototype update (the code's sequential loop). Also:
// the queue's enqueue with wrap-around, and the errors on bad shapes.
#include <cmath>

#include "io/safetensors.h"
#include "losses/reid_noisy.h"
#include "tests/helpers.h"

using namespace iris;

namespace {
const char* kGolden = "tests/golden/pnl_losses.safetensors";

// The golden's queue as a LabeledQueue (pointer at 0).
losses::LabeledQueue golden_queue(const SafetensorsFile& g) {
  losses::LabeledQueue queue;
  queue.keys = g.get("input.queue").clone();
  queue.labels = g.get("input.queue_labels").clone();
  return queue;
}
}  // namespace

TEST_CASE("pnl: prototype logits and the correction rule match PyTorch") {
  SafetensorsFile g = load_safetensors(kGolden);
  const Tensor &q = g.get("input.q"), &cls = g.get("input.cls"), &labels = g.get("input.labels");
  Tensor z = losses::prototype_logits(q, g.get("input.prototypes"));
  CHECK_CLOSE(z, g.get("out.proto_logits"), 1e-12, 1e-10);
  Tensor corrected = losses::correct_labels(cls, z, labels);
  CHECK(corrected.dtype() == DType::i64);
  CHECK(corrected.to_vector<int64_t>() == g.get("out.corrected").to_vector<int64_t>());
  // the golden replaces rows 0 and 1 and keeps the others (a rule that never replaces fails here)
  CHECK(corrected.to_vector<int64_t>() != labels.to_vector<int64_t>());
  // threshold 0: every row takes argmax l; threshold 1: none is replaced (max l > 1 never holds)
  CHECK(losses::correct_labels(cls, z, labels, 0.5, 0.0).to_vector<int64_t>() ==
        g.get("out.corrected_th0").to_vector<int64_t>());
  CHECK(losses::correct_labels(cls, z, labels, 0.5, 1.0).to_vector<int64_t>() == labels.to_vector<int64_t>());
  // no gradient, even from inputs that require one
  Tensor cls_g = cls.clone().requires_grad_(true);
  CHECK_FALSE(losses::correct_labels(cls_g, z, labels).requires_grad());
}

TEST_CASE("pnl: label-guided contrastive loss matches PyTorch (values and gradients)") {
  SafetensorsFile g = load_safetensors(kGolden);
  losses::LabeledQueue queue = golden_queue(g);
  const Tensor &k = g.get("input.k"), &labels = g.get("input.labels");
  for (bool guided : {false, true}) {
    CAPTURE(guided);
    const std::string tag = guided ? "supcont" : "moco";
    Tensor q = g.get("input.q").clone().requires_grad_(true);
    Tensor loss = losses::label_guided_contrastive_loss(q, k, queue.keys, queue.labels, labels, guided);
    CHECK_CLOSE(loss, g.get("out.lgc_" + tag), 1e-12, 1e-10);
    loss.backward();
    CHECK_CLOSE(q.grad(), g.get("grad.q_lgc_" + tag), 1e-12, 1e-9);
  }
  // the queue positives change the loss (the golden's queue holds labels of the batch)
  CHECK(std::fabs(g.get("out.lgc_moco").item() - g.get("out.lgc_supcont").item()) > 1e-3);
}

TEST_CASE("pnl: one full step matches PyTorch (corrected labels, the three losses, gradients)") {
  SafetensorsFile g = load_safetensors(kGolden);
  losses::LabeledQueue queue = golden_queue(g);
  Tensor q = g.get("input.q").clone().requires_grad_(true);
  Tensor cls = g.get("input.cls").clone().requires_grad_(true);
  losses::PnlOptions opts;
  opts.correct_labels = true;
  opts.label_guided = true;
  losses::PnlLosses out =
      losses::pnl_losses(cls, q, g.get("input.k"), g.get("input.labels"), g.get("input.prototypes"), queue, opts);
  CHECK(out.labels.to_vector<int64_t>() == g.get("out.corrected").to_vector<int64_t>());
  CHECK_CLOSE(out.classification, g.get("out.step_ce"), 1e-12, 1e-10);
  CHECK_CLOSE(out.prototype, g.get("out.step_pro"), 1e-12, 1e-10);
  CHECK_CLOSE(out.label_guided, g.get("out.step_lgc"), 1e-12, 1e-10);
  CHECK_CLOSE(out.total, g.get("out.step_total"), 1e-12, 1e-10);
  out.total.backward();
  CHECK_CLOSE(q.grad(), g.get("grad.step_q"), 1e-12, 1e-9);
  CHECK_CLOSE(cls.grad(), g.get("grad.step_cls"), 1e-12, 1e-9);
  // CE is on the corrected labels: on the noisy ones it differs
  CHECK(std::fabs(cross_entropy(cls, g.get("input.labels")).item() - g.get("out.step_ce").item()) > 1e-3);

  // the spec's variant: the query's corrected label picks the queue positives
  opts.query_uses_corrected_label = true;
  Tensor lgc = losses::pnl_losses(cls, q, g.get("input.k"), g.get("input.labels"), g.get("input.prototypes"),
                                  queue, opts).label_guided;
  CHECK_CLOSE(lgc, g.get("out.lgc_corrected_query"), 1e-12, 1e-10);

  // before epoch 1: no prototype loss, no correction; the total is L_ce + L_lgc
  losses::PnlOptions early;
  early.use_prototypes = false;
  losses::PnlLosses e =
      losses::pnl_losses(cls, q, g.get("input.k"), g.get("input.labels"), g.get("input.prototypes"), queue, early);
  CHECK_FALSE(e.prototype.defined());
  CHECK(e.labels.to_vector<int64_t>() == g.get("input.labels").to_vector<int64_t>());
  CHECK(e.total.item() == doctest::Approx(e.classification.item() + g.get("out.lgc_moco").item()).epsilon(1e-12));
}

TEST_CASE("pnl: momentum prototypes follow the code's sequential loop") {
  SafetensorsFile g = load_safetensors(kGolden);
  const Tensor& q = g.get("input.q");
  const Tensor& y = g.get("out.corrected");  // [2, 3, 1, 3, 2, 0]: 2 and 3 twice, 4 never
  for (auto [m, tag] : {std::pair<double, const char*>{0.999, "m999"}, {0.5, "m5"}}) {
    CAPTURE(tag);
    Tensor protos = g.get("input.prototypes").clone();
    Tensor before = protos;
    losses::update_prototypes(protos, q, y, m);
    CHECK(protos.shares_storage(before));  // in place
    CHECK_CLOSE(protos, g.get(std::string("out.prototypes_") + tag), 1e-12, 1e-10);
  }
  // a class no sample has stays a zero row; every updated row has unit norm
  Tensor protos = g.get("input.prototypes").clone();
  losses::update_prototypes(protos, q, y, 0.9);
  std::vector<double> norms = norm(protos, 2.0, {1}).to_vector<double>();
  CHECK(norms[4] == 0.0);
  for (int c = 0; c < 4; ++c) CHECK(norms[c] == doctest::Approx(1.0).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(losses::update_prototypes(protos, q, full({6}, 5.0, DType::i64), 0.9),
                       doctest::Contains("outside [0, 5)"), Error);
}

TEST_CASE("pnl: the labelled queue enqueues at the pointer and wraps around") {
  losses::LabeledQueue queue(5, 3, DType::f64);
  CHECK(queue.size() == 5);
  CHECK(queue.labels.to_vector<int64_t>() == std::vector<int64_t>(5, -1));
  std::vector<double> norms = norm(queue.keys, 2.0, {1}).to_vector<double>();
  for (double n : norms) CHECK(n == doctest::Approx(1.0).epsilon(1e-12));
  auto batch = [](double base, int64_t n) { return arange(base, base + 3 * n, 1.0, DType::f64).reshape({n, 3}); };
  queue.enqueue(batch(0, 3), from_vector(std::vector<int64_t>{7, 8, 9}));
  CHECK(queue.ptr == 3);
  queue.enqueue(batch(100, 3), from_vector(std::vector<int64_t>{1, 2, 3}));  // rows 3, 4, then row 0
  CHECK(queue.ptr == 1);
  CHECK(queue.labels.to_vector<int64_t>() == std::vector<int64_t>({3, 8, 9, 1, 2}));
  CHECK(queue.keys.select(0, 0).to_vector<double>() == std::vector<double>({106, 107, 108}));
  CHECK(queue.keys.select(0, 3).to_vector<double>() == std::vector<double>({100, 101, 102}));
  CHECK(queue.keys.select(0, 1).to_vector<double>() == std::vector<double>({3, 4, 5}));
  queue.enqueue(batch(200, 4), from_vector(std::vector<int64_t>{4, 5, 6, 0}));  // rows 1 .. 4, pointer back at 0
  CHECK(queue.ptr == 0);
  CHECK(queue.labels.to_vector<int64_t>() == std::vector<int64_t>({3, 4, 5, 6, 0}));
  CHECK_THROWS_WITH_AS(queue.enqueue(batch(0, 6), zeros({6}, DType::i64)), doctest::Contains("does not fit"), Error);
  CHECK_THROWS_WITH_AS(queue.enqueue(zeros({2, 4}, DType::f64), zeros({2}, DType::i64)),
                       doctest::Contains("embedding size"), Error);
}

TEST_CASE("pnl: bad shapes fail with a clear message") {
  SafetensorsFile g = load_safetensors(kGolden);
  const Tensor &q = g.get("input.q"), &k = g.get("input.k"), &cls = g.get("input.cls"), &y = g.get("input.labels");
  losses::LabeledQueue queue = golden_queue(g);
  Tensor z = losses::prototype_logits(q, g.get("input.prototypes"));
  CHECK_THROWS_WITH_AS(losses::prototype_logits(q, zeros({5, 7}, DType::f64)), doctest::Contains("embedding size"),
                       Error);
  CHECK_THROWS_WITH_AS(losses::correct_labels(cls, z.narrow(1, 0, 4), y), doctest::Contains("same shape"), Error);
  CHECK_THROWS_WITH_AS(losses::correct_labels(cls, z, y.narrow(0, 0, 5)), doctest::Contains("labels must be [B] = [6]"),
                       Error);
  CHECK_THROWS_WITH_AS(losses::correct_labels(cls, z, y.to(DType::f64)), doctest::Contains("i64 or i32"), Error);
  CHECK_THROWS_WITH_AS(losses::label_guided_contrastive_loss(q, k.narrow(0, 0, 5), queue.keys, queue.labels, y, true),
                       doctest::Contains("q and k must have the same shape"), Error);
  CHECK_THROWS_WITH_AS(
      losses::label_guided_contrastive_loss(q, k, queue.keys, queue.labels.narrow(0, 0, 9), y, true),
      doctest::Contains("queue_labels must be i64 [Q] = [10]"), Error);
  CHECK_THROWS_WITH_AS(losses::prototype_contrastive_loss(q.reshape({-1}), g.get("input.prototypes"), y),
                       doctest::Contains("q must be [B, D]"), Error);
  losses::PnlOptions bad;
  bad.use_prototypes = false;
  bad.correct_labels = true;
  CHECK_THROWS_WITH_AS(losses::pnl_losses(cls, q, k, y, g.get("input.prototypes"), queue, bad),
                       doctest::Contains("set use_prototypes"), Error);
  CHECK_THROWS_WITH_AS(losses::pnl_losses(cls.narrow(0, 0, 4), q, k, y, g.get("input.prototypes"), queue),
                       doctest::Contains("same batch size"), Error);
}
