// FaRL-mini's pieces against PyTorch / NumPy / BEiT (tests/golden/farl_losses.safetensors, written by
// make_farl.py): the ITC + MIM loss (values and gradients in f64), soft-argmax and the landmark loss, k-means
// assignment on fixed centroids, and the statistics of BEiT's blockwise masks (20000 masks each side: the
// mean count, its spread, the share that hits the target, the per-row and per-column frequencies, within a
// few standard errors). Also: the [clean; masked] pass equals the two separate passes, k-means is deterministic,
// heads' shapes, and the errors.
#include <cmath>

#include "data/block_mask.h"
#include "data/visual_tokens.h"
#include "io/safetensors.h"
#include "losses/contrastive.h"
#include "losses/mim.h"
#include "models/farl_heads.h"
#include "tests/helpers.h"

using namespace iris;

namespace {
const char* kGolden = "tests/golden/farl_losses.safetensors";
}

TEST_CASE("farl: ITC + MIM loss matches PyTorch (values and gradients)") {
  SafetensorsFile g = load_safetensors(kGolden);
  Tensor img = g.get("input.img").clone().requires_grad_(true);
  Tensor txt = g.get("input.txt").clone().requires_grad_(true);
  Tensor scale = g.get("input.scale").clone().requires_grad_(true);
  Tensor logits = g.get("input.logits").clone().requires_grad_(true);
  const Tensor& targets = g.get("input.targets");
  const Tensor& mask = g.get("input.mask");
  CHECK_CLOSE(losses::clip_loss(img, txt, scale, true), g.get("out.itc"), 1e-12, 1e-10);
  CHECK_CLOSE(losses::masked_token_loss(logits, targets, mask), g.get("out.mim"), 1e-12, 1e-10);
  Tensor total = losses::farl_pretrain_loss(img, txt, scale, logits, targets, mask, 1.0);
  CHECK_CLOSE(total, g.get("out.total"), 1e-12, 1e-10);
  total.backward();
  CHECK_CLOSE(img.grad(), g.get("grad.img"), 1e-12, 1e-9);
  CHECK_CLOSE(txt.grad(), g.get("grad.txt"), 1e-12, 1e-9);
  CHECK_CLOSE(scale.grad(), g.get("grad.scale"), 1e-12, 1e-9);
  CHECK_CLOSE(logits.grad(), g.get("grad.logits"), 1e-12, 1e-9);  // zero at unmasked positions, as torch's
}

TEST_CASE("farl: soft-argmax and the landmark loss match PyTorch") {
  SafetensorsFile g = load_safetensors(kGolden);
  Tensor hm = g.get("input.heatmaps").clone().requires_grad_(true);
  Tensor coords = models::soft_argmax(hm);
  CHECK_CLOSE(coords, g.get("out.coords"), 1e-12, 1e-10);
  const double H = static_cast<double>(hm.shape()[2]);
  Tensor loss = losses::landmark_loss(coords / H, g.get("input.true") / H, hm, g.get("input.target_heatmaps"));
  CHECK_CLOSE(loss, g.get("out.landmark_loss"), 1e-12, 1e-10);
  loss.backward();
  CHECK_CLOSE(hm.grad(), g.get("grad.heatmaps"), 1e-12, 1e-9);
}

TEST_CASE("farl: k-means assignment matches NumPy; fitting is deterministic and lowers the distortion") {
  SafetensorsFile g = load_safetensors(kGolden);
  CHECK(data::kmeans_assign(g.get("input.points"), g.get("input.centroids")).to_vector<int64_t>() ==
        g.get("out.assign").to_vector<int64_t>());
  Tensor pts = g.get("input.points").to(DType::f32);
  Tensor a = data::kmeans_fit(pts, 5, 6, 11), b = data::kmeans_fit(pts, 5, 6, 11);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  auto distortion = [&](const Tensor& c) {
    Tensor near = index_select(c, 0, data::kmeans_assign(pts, c));
    return sum(square(pts - near)).item();
  };
  CHECK(distortion(a) < distortion(data::kmeans_fit(pts, 5, 0, 11)));  // 0 iterations: the random start
  CHECK_THROWS_WITH_AS(data::kmeans_fit(pts, 51, 1, 0), doctest::Contains("k <= points"), Error);
  // patches: row-major over the grid, (c, y, x) inside
  Tensor im = arange(0, 2 * 4 * 4, 1, DType::f32).reshape({1, 2, 4, 4});
  Tensor p = data::image_patches(im, 2);
  CHECK(p.shape() == Shape({1, 4, 8}));
  CHECK(p.select(1, 1).to_vector<float>() == std::vector<float>({2, 3, 6, 7, 18, 19, 22, 23}));
  CHECK_THROWS_WITH_AS(data::image_patches(im, 3), doctest::Contains("not a grid"), Error);
}

TEST_CASE("farl: blockwise masks have BEiT's statistics") {
  SafetensorsFile g = load_safetensors(kGolden);
  data::BlockMaskConfig c;  // 8 x 8, 26, blocks >= 4: the golden's settings
  const int n = 20000;
  std::vector<double> counts, rows(8, 0), cols(8, 0);
  for (int i = 0; i < n; ++i) {
    synth::SynthRandom rng(5, static_cast<uint64_t>(i));
    std::vector<uint8_t> m = data::block_mask(c, rng);
    double k = 0;
    for (int j = 0; j < 64; ++j) k += m[j], rows[j / 8] += m[j] / (8.0 * n), cols[j % 8] += m[j] / (8.0 * n);
    counts.push_back(k);
  }
  double mean = 0, var = 0, hit = 0, mx = 0;
  for (double k : counts) mean += k / n, hit += (k == 26) / double(n), mx = std::max(mx, k);
  for (double k : counts) var += (k - mean) * (k - mean) / n;
  const double ref_mean = g.get("mask.count_mean").item(), ref_std = g.get("mask.count_std").item();
  const double ref_hit = g.get("mask.hit_target").item();
  CHECK(mx <= 26);
  CHECK(std::abs(mean - ref_mean) < 5 * std::sqrt(2.0 / n) * std::max(ref_std, 0.05));
  CHECK(std::abs(std::sqrt(var) - ref_std) < 0.25 * ref_std + 0.02);
  CHECK(std::abs(hit - ref_hit) < 5 * std::sqrt(2 * ref_hit * (1 - ref_hit) / n) + 1e-3);
  std::vector<double> rr = g.get("mask.row_freq").to_vector<double>(), rc = g.get("mask.col_freq").to_vector<double>();
  for (int j = 0; j < 8; ++j) {
    CAPTURE(j);
    const double se = std::sqrt(2 * rr[j] * (1 - rr[j]) / n);
    CHECK(std::abs(rows[j] - rr[j]) < 6 * se + 0.01);  // masks' patches are correlated: a margin over iid
    CHECK(std::abs(cols[j] - rc[j]) < 6 * se + 0.01);
  }
  data::BlockMaskConfig bad = c;
  bad.num_masking = 65;
  synth::SynthRandom rng(0, 0);
  CHECK_THROWS_WITH_AS(data::block_mask(bad, rng), doctest::Contains("num_masking"), Error);
}

TEST_CASE("farl: the [clean; masked] pass equals two separate passes; the dense heads' shapes") {
  models::FarlConfig cfg;
  cfg.text.vocab_size = 30;
  cfg.depth = 3, cfg.feature_blocks = {0, 1, 1, 2};
  Generator gen(3);
  models::Farl model(cfg, &gen);
  model.eval();
  Tensor images = randn({2, 3, 48, 48}, {}, &gen);
  Tensor mask = zeros({2, 64});
  mask.slice(1, 10, 30).fill_(1.0);
  Tensor ids = randint(2, 30, {2, 6}, DType::i64, &gen), eot = from_vector(std::vector<int64_t>{5, 3});
  models::FarlPretrainOutput both = model.forward_pretrain(images, mask, ids, eot, true, true);
  models::FarlPretrainOutput itc = model.forward_pretrain(images, mask, ids, eot, true, false);
  models::FarlPretrainOutput mim = model.forward_pretrain(images, mask, ids, eot, false, true);
  CHECK(both.image_emb.shape() == Shape({2, 64}));
  CHECK(both.mim_logits.shape() == Shape({2, 64, 256}));
  CHECK_CLOSE(both.image_emb, itc.image_emb, 1e-5, 1e-4);
  CHECK_CLOSE(both.mim_logits, mim.mim_logits, 1e-4, 1e-4);
  CHECK(!mim.image_emb.defined());
  // the mask matters: an unmasked MIM pass gives other logits
  CHECK(max(abs(model.forward_pretrain(images, zeros({2, 64}), ids, eot, false, true).mim_logits - mim.mim_logits))
            .item() > 1e-3);
  models::FarlDense dense(model.visual, 16, 10, &gen);
  CHECK(dense.forward(images).shape() == Shape({2, 10, 32, 32}));
  CHECK_THROWS_WITH_AS(model.visual->embed(randn({1, 3, 40, 40})), doctest::Contains("expects images"), Error);
  CHECK_THROWS_WITH_AS(losses::masked_token_loss(both.mim_logits, zeros({2, 64}, DType::i64), zeros({2, 64})),
                       doctest::Contains("no masked position"), Error);
}
