// losses/contrastive against PyTorch (tests/golden/unicl_loss.safetensors, written by make_unicl.py: the
// paper's L_i2t + L_t2i with |P(i)| / |Q(j)| normalised positives, and CLIP's symmetric cross-entropy) and
// against a naive loop; gradchecks in f64; targets, special cases (unique labels = CLIP), non-contiguous
// inputs, f32, and the errors.
#include "losses/contrastive.h"
#include "io/safetensors.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::losses;

namespace {

// The paper's loss by plain loops: logits z_ij = s <u_i, v_j>;
// L_i2t = mean_i -(1/|P(i)|) sum_{k: y_k = y_i} log softmax_j(z_i.)_k, L_t2i likewise over columns.
double naive_unicl(const std::vector<double>& img, const std::vector<double>& txt, const std::vector<int64_t>& y,
                   double s, int64_t B, int64_t E) {
  std::vector<double> z(B * B);
  for (int64_t i = 0; i < B; ++i)
    for (int64_t j = 0; j < B; ++j) {
      double d = 0;
      for (int64_t e = 0; e < E; ++e) d += img[i * E + e] * txt[j * E + e];
      z[i * B + j] = s * d;
    }
  double i2t = 0, t2i = 0;
  for (int64_t i = 0; i < B; ++i) {
    double row_lse = 0, col_lse = 0;
    for (int64_t j = 0; j < B; ++j) row_lse += std::exp(z[i * B + j]), col_lse += std::exp(z[j * B + i]);
    row_lse = std::log(row_lse), col_lse = std::log(col_lse);
    int64_t count = 0;
    double row_sum = 0, col_sum = 0;
    for (int64_t k = 0; k < B; ++k)
      if (y[k] == y[i]) ++count, row_sum += z[i * B + k] - row_lse, col_sum += z[k * B + i] - col_lse;
    i2t -= row_sum / static_cast<double>(count);
    t2i -= col_sum / static_cast<double>(count);
  }
  return (i2t + t2i) / static_cast<double>(B);
}

Tensor unit_rows(const Tensor& x) { return normalize(x, 2.0, -1); }

}  // namespace

TEST_CASE("unicl_loss and clip_loss match PyTorch (values and gradients)") {
  SafetensorsFile g = load_safetensors("tests/golden/unicl_loss.safetensors");
  Tensor labels = g.get("input.labels");
  CHECK_CLOSE(label_targets(labels).to(DType::f64), g.get("out.targets"), 1e-7, 1e-6);
  for (bool avg : {false, true}) {
    for (const char* tag : {"unicl", "clip"}) {
      std::string key = std::string(tag) + (avg ? "_avg" : "");
      CAPTURE(key);
      Tensor img = g.get("input.img").clone().requires_grad_(true);
      Tensor txt = g.get("input.txt").clone().requires_grad_(true);
      Tensor scale = g.get("input.scale").clone().requires_grad_(true);
      Tensor loss = std::string(tag) == "unicl" ? unicl_loss(img, txt, labels, scale, avg) : clip_loss(img, txt, scale, avg);
      CHECK(loss.dim() == 0);
      CHECK_CLOSE(loss, g.get("out." + key), 1e-12, 1e-10);
      loss.backward();
      CHECK_CLOSE(img.grad(), g.get("grad." + key + ".img"), 1e-12, 1e-9);
      CHECK_CLOSE(txt.grad(), g.get("grad." + key + ".txt"), 1e-12, 1e-9);
      CHECK_CLOSE(scale.grad(), g.get("grad." + key + ".scale"), 1e-12, 1e-9);

      // f32 gives the same to float precision
      Tensor l32 = std::string(tag) == "unicl"
                       ? unicl_loss(img.detach().to(DType::f32), txt.detach().to(DType::f32), labels,
                                    scale.detach().to(DType::f32), avg)
                       : clip_loss(img.detach().to(DType::f32), txt.detach().to(DType::f32), scale.detach().to(DType::f32), avg);
      CHECK(l32.dtype() == DType::f32);
      CHECK(l32.item() == doctest::Approx(g.get("out." + key).item()).epsilon(1e-5));
    }
  }
}

TEST_CASE("unicl_loss equals the paper's formula by loops (repeats, singletons, i32 labels, any scale)") {
  const int64_t B = 7, E = 5;
  Tensor img = unit_rows(testing::randn64({B, E}, 1, false)), txt = unit_rows(testing::randn64({B, E}, 2, false));
  std::vector<int64_t> y = {4, 0, 4, 2, 0, 4, 5};
  for (double s : {1.0, 14.3, 100.0}) {
    double want = naive_unicl(img.to_vector<double>(), txt.to_vector<double>(), y, s, B, E);
    CHECK(unicl_loss(img, txt, from_vector(y), scalar_tensor(s, DType::f64)).item() == doctest::Approx(want).epsilon(1e-10));
    CHECK(unicl_loss(img, txt, from_vector(y).to(DType::i32), full({1}, s, DType::f64), true).item() ==
          doctest::Approx(want / 2).epsilon(1e-10));
  }
}

TEST_CASE("label_targets: T_ij = 1[y_i == y_j] / |P(i)|, rows sum to 1") {
  Tensor t = label_targets(from_vector(std::vector<int64_t>{2, 7, 2, 2, 9, 7}));
  CHECK(t.dtype() == DType::f32);
  CHECK(t.shape() == Shape{6, 6});
  std::vector<int64_t> y = {2, 7, 2, 2, 9, 7};
  std::vector<double> want(36);
  for (int i = 0; i < 6; ++i) {
    int count = 0;
    for (int j = 0; j < 6; ++j) count += y[i] == y[j];
    for (int j = 0; j < 6; ++j) want[i * 6 + j] = (y[i] == y[j]) ? 1.0 / count : 0.0;
  }
  CHECK_CLOSE(t, from_vector(want, {6, 6}).to(DType::f32), 1e-7, 0);
  CHECK_CLOSE(sum(t, {1}), ones({6}), 1e-6, 0);
  CHECK_CLOSE(label_targets(from_vector(std::vector<int32_t>{3})), ones({1, 1}), 0, 0);  // B = 1, i32
  CHECK_CLOSE(label_targets(from_vector(std::vector<int64_t>{1, 1, 1})), full({3, 3}, 1.0 / 3), 1e-7, 0);
  CHECK_CLOSE(label_targets(from_vector(std::vector<int64_t>{5, 6, 8})), eye(3), 0, 0);  // all unique: identity
  CHECK_FALSE(label_targets(from_vector(std::vector<int64_t>{1, 2})).requires_grad());
}

TEST_CASE("with all-unique labels unicl_loss == clip_loss; one class: no contrast") {
  const int64_t B = 6, E = 4;
  Tensor img = unit_rows(testing::randn64({B, E}, 3, false)), txt = unit_rows(testing::randn64({B, E}, 4, false));
  Tensor scale = scalar_tensor(10.0, DType::f64);
  Tensor unique = from_vector(std::vector<int64_t>{10, 11, 12, 13, 14, 1000});
  CHECK(unicl_loss(img, txt, unique, scale).item() == doctest::Approx(clip_loss(img, txt, scale).item()).epsilon(1e-12));
  CHECK(unicl_loss(img, txt, unique, scale, true).item() ==
        doctest::Approx(clip_loss(img, txt, scale, true).item()).epsilon(1e-12));
  // CLIP differs as soon as two labels repeat
  Tensor repeated = from_vector(std::vector<int64_t>{10, 10, 12, 13, 14, 15});
  CHECK(std::fabs(unicl_loss(img, txt, repeated, scale).item() - clip_loss(img, txt, scale).item()) > 1e-6);
  // one class and identical embeddings: uniform targets against a uniform softmax, so each direction is the
  // targets' entropy log B, and the gradient is zero (every pair is equally positive)
  Tensor same = from_vector(std::vector<int64_t>{1, 1, 1, 1, 1, 1});
  Tensor u = unit_rows(ones({B, E}, DType::f64)).detach().requires_grad_(true);
  Tensor l = unicl_loss(u, u.detach(), same, scale);
  CHECK(l.item() == doctest::Approx(2 * std::log(6.0)).epsilon(1e-12));
  l.backward();
  CHECK_CLOSE(u.grad(), zeros({B, E}, DType::f64), 1e-12, 0);
  // B = 1: a single pair, log-softmax of one logit is 0
  CHECK(clip_loss(img.slice(0, 0, 1), txt.slice(0, 0, 1), scale).item() == doctest::Approx(0.0));
}

TEST_CASE("contrastive losses: gradcheck in f64") {
  const int64_t B = 5, E = 3;
  Tensor labels = from_vector(std::vector<int64_t>{0, 1, 0, 2, 1});
  Tensor img = testing::randn64({B, E}, 5), txt = testing::randn64({B, E}, 6);
  Tensor scale = scalar_tensor(2.5, DType::f64).requires_grad_(true);
  GradcheckOptions opts;
  opts.eps = 1e-6, opts.atol = 1e-7, opts.rtol = 1e-5;
  // the losses do not normalise; gradcheck them on raw (non-unit) rows and on normalised ones
  CHECK_GRADCHECK([&](const std::vector<Tensor>& x) { return unicl_loss(x[0], x[1], labels, x[2]); }, {img, txt, scale}, opts);
  CHECK_GRADCHECK([&](const std::vector<Tensor>& x) { return clip_loss(x[0], x[1], x[2], true); }, {img, txt, scale}, opts);
  CHECK_GRADCHECK(
      [&](const std::vector<Tensor>& x) { return unicl_loss(unit_rows(x[0]), unit_rows(x[1]), labels, x[2], true); },
      {img, txt, scale}, opts);
  // non-contiguous embeddings (strided leaves; a transposed view)
  Tensor img_nc = testing::noncontiguous(img), txt_t = testing::randn64({E, B}, 7);
  CHECK_FALSE(img_nc.is_contiguous());
  CHECK_GRADCHECK([&](const std::vector<Tensor>& x) { return unicl_loss(x[0], x[1].t(), labels, x[2]); },
                  {img_nc, txt_t, scale}, opts);
  CHECK(unicl_loss(img_nc, txt_t.t(), labels, scale).item() ==
        doctest::Approx(unicl_loss(img.detach(), txt_t.t().contiguous().detach(), labels, scale.detach()).item()).epsilon(1e-12));
  // an expanded scale view ([1] broadcast from a 0-d) works as well
  CHECK(unicl_loss(img, txt, labels, scale.reshape({1})).item() ==
        doctest::Approx(unicl_loss(img, txt, labels, scale).item()).epsilon(1e-14));
}

TEST_CASE("contrastive losses: errors") {
  Tensor a = randn({4, 3}), b = randn({4, 3}), s = scalar_tensor(1.0);
  Tensor y = from_vector(std::vector<int64_t>{0, 1, 0, 1});
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, randn({5, 3}), y, s), "same shape");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, randn({4, 2}), y, s), "same shape");
  CHECK_THROWS_WITH_SUBSTR(clip_loss(randn({4}), randn({4}), s), "[B, E]");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b, from_vector(std::vector<int64_t>{0, 1, 0}), s), "labels must be [B] = [4]");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b, y.to(DType::f32), s), "labels must be i64 or i32");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b, y.reshape({2, 2}), s), "labels must be [B]");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b, y, ones({2})), "scale must be a scalar");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b, y, scalar_tensor(1.0, DType::i64)), "scale must be a float");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b.to(DType::f64), y, s), "one float dtype");
  CHECK_THROWS_WITH_SUBSTR(clip_loss(a.to(DType::i64), b.to(DType::i64), s), "one float dtype");
  CHECK_THROWS_WITH_SUBSTR(clip_loss(zeros({0, 3}), zeros({0, 3}), s), "batch is empty");
  CHECK_THROWS_WITH_SUBSTR(clip_loss(a, Tensor(), s), "undefined");
  CHECK_THROWS_WITH_SUBSTR(unicl_loss(a, b, Tensor(), s), "labels must be [B]");
  CHECK_THROWS_WITH_SUBSTR(label_targets(y.to(DType::f64)), "labels must be i64 or i32");
  CHECK_THROWS_WITH_SUBSTR(label_targets(y.reshape({4, 1})), "labels must be [B]");
}
