// models/swin and models/mini_swin. Swin against PyTorch: timm's SwinTransformer with the same small
// configs and weights (tests/golden/swin_{pad,clamp}.safetensors, written by tests/golden/make_swin.py)
// must give the same logits, loss, parameter gradients (and, for swin_pad, the same losses over 5 AdamW
// steps). Mini-Swin: parameter counts of the published sizes, equality with Swin when nothing is shared
// or transformed, shared gradients = the sum of an unshared twin's, the transformed window attention
// against a loop in the code's order and under a f64 gradient check, the shift schedule, the errors.
// Left out: a full Swin-T forward against timm (its weights would be a 110 MB golden file).
#include <map>

#include "io/json.h"
#include "models/mini_swin.h"
#include "nn/init.h"
#include "tests/golden_helpers.h"

using namespace iris;
using namespace iris::models;

namespace {

SwinConfig config_from(const SafetensorsFile& f) {
  json::Value c = json::parse(f.metadata.at("config"));
  SwinConfig cfg;
  cfg.img_size = c["img_size"].as_int();
  cfg.patch_size = c["patch_size"].as_int();
  cfg.in_chans = c["in_chans"].as_int();
  cfg.num_classes = c["num_classes"].as_int();
  cfg.embed_dim = c["embed_dim"].as_int();
  cfg.depths.clear(), cfg.num_heads.clear();
  for (const json::Value& v : c["depths"].elements()) cfg.depths.push_back(v.as_int());
  for (const json::Value& v : c["num_heads"].elements()) cfg.num_heads.push_back(v.as_int());
  cfg.window_size = c["window_size"].as_int();
  cfg.mlp_ratio = c["mlp_ratio"].as_number();
  return cfg;
}

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  SwinTransformer model(config_from(g));
  testing::check_model_against_golden(model, g);
}

// A small Swin with shifted, masked and padded windows in both stages (14x14 -> 7x7 maps, window 4).
SwinConfig small_swin() {
  SwinConfig c;
  c.img_size = 28, c.patch_size = 2, c.embed_dim = 8, c.depths = {2, 4}, c.num_heads = {2, 4}, c.window_size = 4;
  c.mlp_ratio = 2.0;
  return c;
}

// Moves every parameter away from its init (as make_swin.py's perturb), so that the head mixing and the
// relative position tables matter.
void perturb(nn::Module& m, uint64_t seed) {
  Generator gen(seed);
  NoGradGuard ng;
  for (auto& [name, p] : m.named_parameters()) p.copy_(randn(p.shape(), DType::f32, &gen) * 0.3 + p.detach());
}

}  // namespace

// ---- Swin against timm ---------------------------------------------------------------------

TEST_CASE("Swin with shifted, masked and padded windows in both stages matches timm (+ 5 AdamW steps)") {
  check_against_golden("swin_pad");
}

TEST_CASE("Swin with windows clamped to small maps (no shift, 2x2 window) matches timm") {
  check_against_golden("swin_clamp");
}

TEST_CASE("Swin parameter counts: timm's exactly, and the published 28M / 50M / 88M within 2%") {
  nn::init::SkipInitGuard skip;
  // timm 1.0.31: sum(p.numel() for p in timm.create_model('swin_{tiny,small,base}_patch4_window7_224').parameters())
  const std::map<std::string, std::pair<int64_t, double>> expected = {
      {"swin-tiny", {28288354, 28e6}}, {"swin-small", {49606258, 50e6}}, {"swin-base", {87768224, 88e6}}};
  for (const auto& [name, counts] : expected) {
    CAPTURE(name);
    SwinTransformer model(SwinConfig::named(name));
    CHECK(model.parameter_count() == counts.first);
    CHECK(std::fabs(static_cast<double>(model.parameter_count()) - counts.second) <= 0.02 * counts.second);
  }
}

TEST_CASE("Swin's stage windows and shifts follow timm's clamping rule") {
  SwinConfig t = SwinConfig::named("swin-tiny");
  CHECK(t.resolution(0) == 56);
  CHECK(t.resolution(3) == 7);
  CHECK(t.stage_window(3) == 7);
  CHECK(t.stage_shift(2) == 3);
  CHECK(t.stage_shift(3) == 0);  // a 7x7 map is one window: never shifted
  SwinConfig f = SwinConfig::named("swin-fmnist");
  CHECK(f.resolution(1) == 7);
  CHECK(f.resolution(2) == 4);   // 7 -> 4: patch merging pads the odd side
  CHECK(f.stage_window(2) == 4);
  CHECK(f.stage_shift(0) == 3);
  CHECK(f.stage_shift(1) == 0);
}

TEST_CASE("the shifted-window mask separates the regions the cyclic shift brings together") {
  // 8x8 map, window 4, shift 2: rows/columns 0..3 are region 0, 4..5 region 1, 6..7 region 2.
  Tensor m = shifted_window_mask(8, 8, 4, 2);
  REQUIRE(m.shape() == Shape{4, 16, 16});
  std::vector<float> v = m.to_vector<float>();
  auto at = [&](int64_t win, int64_t i, int64_t j) { return v[(win * 16 + i) * 16 + j]; };
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t j = 0; j < 16; ++j) CHECK(at(0, i, j) == 0.0f);  // top-left window: one region
  // bottom-right window: token (0,0) [regions 1,1] and (0,2) [1,2] differ; (0,0) and (1,1) agree
  CHECK(at(3, 0, 2) == -100.0f);
  CHECK(at(3, 0, 5) == 0.0f);
  CHECK(at(3, 0, 10) == -100.0f);  // (2,2): regions (2,2)
  CHECK(at(1, 0, 1) == 0.0f);      // top-right window: columns 4, 5 are region 1
  CHECK(at(1, 0, 2) == -100.0f);   // column 6 is region 2
  CHECK_THROWS_WITH_SUBSTR(shifted_window_mask(6, 8, 4, 2), "multiples of the window");
  CHECK_THROWS_WITH_SUBSTR(shifted_window_mask(8, 8, 4, 4), "shift < window");
}

// ---- Mini-Swin ---------------------------------------------------------------------------

TEST_CASE("Mini-Swin parameter counts: the published 12M / 26M / 46M within 3%, shared tensors once") {
  nn::init::SkipInitGuard skip;
  // published (MiniViT README) and ours, pinned so that a change of structure shows
  const std::map<std::string, std::pair<double, int64_t>> counts = {{"mini-swin-tiny", {12e6, 12001765}},
                                                                    {"mini-swin-small", {26e6, 26463205}},
                                                                    {"mini-swin-base", {46e6, 46444852}}};
  for (const auto& [name, count] : counts) {
    CAPTURE(name);
    MiniSwin model(MiniSwinConfig::named(name));
    const double n = static_cast<double>(model.parameter_count());
    CHECK_MESSAGE(std::fabs(n - count.first) <= 0.03 * count.first, name << ": " << n << " parameters");
    CHECK(model.parameter_count() == count.second);
    // the state dict names every copy of a shared tensor; parameters() holds it once
    CHECK(model.state_dict().size() > model.parameters().size());
  }
}

TEST_CASE("Mini-Swin: a shared block serves consecutive layers and the shift alternates across its repeats") {
  nn::init::SkipInitGuard skip;
  MiniSwin tiny(MiniSwinConfig::named("mini-swin-tiny"));
  for (int64_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    CHECK(tiny.block(2, i).attn == tiny.block(2, 0).attn);  // one block used 6x in stage 2
    CHECK(tiny.block(2, i).mlp == tiny.block(2, 0).mlp);
    if (i > 0) CHECK(tiny.block(2, i).norm1 != tiny.block(2, 0).norm1);  // per-layer norms
    CHECK(tiny.block(2, i).shift == (i % 2 ? 3 : 0));
  }
  CHECK(tiny.block(3, 1).shift == 0);  // the 7x7 map of stage 3 is one window
  MiniSwin small(MiniSwinConfig::named("mini-swin-small"));
  CHECK(small.block(2, 1).attn == small.block(2, 0).attn);  // 9 unique blocks, each used twice
  CHECK(small.block(2, 2).attn != small.block(2, 1).attn);
  CHECK(small.block(2, 17).attn == small.block(2, 16).attn);
  CHECK_THROWS_WITH_SUBSTR(small.block(4, 0), "no stage");
  CHECK_THROWS_WITH_SUBSTR(small.block(2, 18), "no block");
}

TEST_CASE("Mini-Swin with share group 1 and transforms off is Swin (same weights -> same logits)") {
  SwinConfig sc = small_swin();
  Generator gen(3);
  SwinTransformer swin(sc, &gen);
  perturb(swin, 4);
  MiniSwinConfig mc;
  mc.swin = sc, mc.separate_layers = sc.depths, mc.attn_transform = false, mc.mlp_transform = false;
  MiniSwin mini(mc);
  mini.load_state_dict(swin.state_dict());  // strict: the very same names
  CHECK(mini.parameter_count() == swin.parameter_count());
  Generator data(5);
  Tensor images = randn({2, 1, 28, 28}, DType::f32, &data);
  CHECK_CLOSE(mini.forward(images), swin.forward(images), 1e-6, 1e-6);
}

TEST_CASE("Mini-Swin: the gradient of a shared weight is the sum of its tied copies' in an unshared twin") {
  MiniSwinConfig shared;
  shared.swin = small_swin(), shared.separate_layers = {1, 2}, shared.local_kernel = 3;  // stage 1: 2 blocks x 2
  Generator gen(6);
  MiniSwin model(shared, &gen);
  perturb(model, 7);
  MiniSwinConfig untied = shared;
  untied.separate_layers = shared.swin.depths;
  MiniSwin twin(untied);
  twin.load_state_dict(model.state_dict());  // every tied name gets its own copy of the values

  Generator data(8);
  Tensor images = randn({2, 1, 28, 28}, DType::f32, &data);
  Tensor r = randn({2, 10}, DType::f32, &data);
  Tensor out = model.forward(images), out_twin = twin.forward(images);
  CHECK_CLOSE(out, out_twin, 1e-5, 1e-5);
  sum(out * r).backward();
  sum(out_twin * r).backward();

  std::map<std::string, Tensor> twin_params;
  for (auto& [n, p] : twin.named_parameters()) twin_params[n] = p;
  // Group the shared model's names by tensor: each group is one parameter and its tied copies.
  std::map<const void*, std::vector<std::string>> names_of;
  std::map<const void*, Tensor> tensor_of;
  for (auto& [n, p] : model.state_dict()) names_of[p.impl()].push_back(n), tensor_of[p.impl()] = p;
  int tied = 0;
  for (auto& [impl, names] : names_of) {
    CAPTURE(names.front());
    Tensor expected = zeros(tensor_of[impl].shape());
    for (const std::string& n : names) expected = expected + twin_params.at(n).grad();
    CHECK_CLOSE(tensor_of[impl].grad(), expected, 1e-5, 1e-4);
    if (names.size() > 1) ++tied;
  }
  // stage 0: 1 shared (attn, mlp) for 2 layers; stage 1: 2 for 4 -> 3 groups of qkv.{w,b}, proj.{w,b},
  // relative_position_bias_table, fc1.{w,b}, fc2.{w,b}
  CHECK(tied == 3 * 9);
}

namespace {

// The transformed window attention written as loops over windows, heads and tokens, in the order of
// Mini-Swin's code: logits = (q/sqrt(D)) k^T + rel -> pre mix -> + mask -> softmax -> post mix -> @ v -> proj.
std::vector<double> attention_loop(SwinWindowAttention& a, nn::Linear& pre, nn::Linear& post, const Tensor& windows,
                                   const Tensor& mask) {
  const int64_t Bw = windows.shape()[0], N = windows.shape()[1], C = windows.shape()[2], G = a.num_heads, D = C / G;
  const int64_t nW = mask.shape()[0];
  std::vector<double> qkv = a.qkv->forward(windows).to_vector<double>();  // [B', N, 3C]: the Linear is tested elsewhere
  std::vector<double> table = a.relative_position_bias_table.to_vector<double>();
  std::vector<int64_t> index = a.relative_position_index.to_vector<int64_t>();
  std::vector<double> m = mask.to_vector<double>(), pw = pre.weight.to_vector<double>(), pb = pre.bias.to_vector<double>();
  std::vector<double> qw = post.weight.to_vector<double>(), qb = post.bias.to_vector<double>();
  std::vector<double> heads_out(static_cast<size_t>(Bw * N * C));
  for (int64_t b = 0; b < Bw; ++b) {
    auto qkv_at = [&](int64_t which, int64_t n, int64_t g, int64_t d) { return qkv[(b * N + n) * 3 * C + which * C + g * D + d]; };
    std::vector<double> logit(G * N * N), mixed(G * N * N), prob(G * N * N), post_p(G * N * N);
    for (int64_t g = 0; g < G; ++g)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += qkv_at(0, i, g, d) / std::sqrt(double(D)) * qkv_at(1, j, g, d);
          logit[(g * N + i) * N + j] = s + table[index[i * N + j] * G + g];
        }
    for (int64_t g = 0; g < G; ++g)
      for (int64_t ij = 0; ij < N * N; ++ij) {
        double s = pb[g];
        for (int64_t h = 0; h < G; ++h) s += pw[g * G + h] * logit[h * N * N + ij];
        mixed[g * N * N + ij] = s + m[(b % nW) * N * N + ij];
      }
    for (int64_t g = 0; g < G; ++g)
      for (int64_t i = 0; i < N; ++i) {
        double mx = -1e300, z = 0;
        for (int64_t j = 0; j < N; ++j) mx = std::max(mx, mixed[(g * N + i) * N + j]);
        for (int64_t j = 0; j < N; ++j) z += std::exp(mixed[(g * N + i) * N + j] - mx);
        for (int64_t j = 0; j < N; ++j) prob[(g * N + i) * N + j] = std::exp(mixed[(g * N + i) * N + j] - mx) / z;
      }
    for (int64_t g = 0; g < G; ++g)
      for (int64_t ij = 0; ij < N * N; ++ij) {
        double s = qb[g];
        for (int64_t h = 0; h < G; ++h) s += qw[g * G + h] * prob[h * N * N + ij];
        post_p[g * N * N + ij] = s;
      }
    for (int64_t g = 0; g < G; ++g)
      for (int64_t i = 0; i < N; ++i)
        for (int64_t d = 0; d < D; ++d) {
          double s = 0;
          for (int64_t j = 0; j < N; ++j) s += post_p[(g * N + i) * N + j] * qkv_at(2, j, g, d);
          heads_out[(b * N + i) * C + g * D + d] = s;
        }
  }
  return a.proj->forward(from_vector(heads_out, {Bw, N, C}).to(windows.dtype())).to_vector<double>();
}

}  // namespace

TEST_CASE("the transformed window attention follows the code's order (a loop) and passes a f64 gradient check") {
  // dim 4, 2 heads of 2, window 2 (N = 4 tokens); 2 images of a 4x4 map shifted by 1 -> nW = 4 windows.
  Generator gen(9);
  SwinWindowAttention attn(4, 2, 2, true, &gen);
  nn::Linear pre(2, 2, true, &gen), post(2, 2, true, &gen);
  Tensor mask = shifted_window_mask(4, 4, 2, 1);
  {
    NoGradGuard ng;
    attn.relative_position_bias_table.copy_(randn({9, 2}, DType::f32, &gen));
  }
  Tensor windows = randn({8, 4, 4}, DType::f32, &gen);
  HeadMixing mixing{&pre, &post};
  std::vector<double> expected = attention_loop(attn, pre, post, windows, mask);
  CHECK_CLOSE(attn.forward(windows, mask, mixing), from_vector(expected, {8, 4, 4}).to(DType::f32), 1e-5, 1e-5);
  CHECK_CLOSE(attn.forward(testing::noncontiguous(windows), mask, mixing),
              from_vector(expected, {8, 4, 4}).to(DType::f32), 1e-5, 1e-5);

  // f64: the member tensors are swapped for f64 leaves (modules read their members at each forward).
  auto f = [&](const std::vector<Tensor>& in) {
    attn.relative_position_bias_table = in[1];
    pre.weight = in[2], pre.bias = in[3], post.weight = in[4], post.bias = in[5], attn.qkv->weight = in[6];
    return attn.forward(in[0], mask, mixing);
  };
  attn.qkv->bias = testing::randn64({12}, 10, false);
  attn.proj->weight = testing::randn64({4, 4}, 11, false);
  attn.proj->bias = testing::randn64({4}, 12, false);
  GradcheckOptions opts;
  opts.atol = 1e-6, opts.rtol = 1e-5;
  CHECK_GRADCHECK(f,
                  {testing::randn64({8, 4, 4}, 13), testing::randn64({9, 2}, 14), testing::randn64({2, 2}, 15),
                   testing::randn64({2}, 16), testing::randn64({2, 2}, 17), testing::randn64({2}, 18),
                   testing::randn64({12, 4}, 19)},
                  opts);
}

TEST_CASE("Mini-Swin-FMNIST: forward and backward run, every parameter gets a gradient, transforms start small") {
  Generator gen(11);
  MiniSwin model(MiniSwinConfig::named("mini-swin-fmnist"), &gen);
  Generator data(12);
  Tensor images = randn({2, 1, 28, 28}, DType::f32, &data);
  Tensor logits = model.forward(images);
  CHECK(logits.shape() == Shape{2, 10});
  cross_entropy(logits, from_vector(std::vector<int64_t>{3, 7})).backward();
  for (auto& [n, p] : model.named_parameters()) {
    CAPTURE(n);
    CHECK(p.grad().defined());
  }
  // the pre/post mixing starts as trunc_normal(0.02) with zero bias, not as identity
  const MiniSwinBlock& b = model.block(0, 0);
  REQUIRE(b.pre_mix);
  CHECK(amax(abs(b.pre_mix->weight)).item() < 0.05);
  CHECK(amax(abs(b.post_mix->bias)).item() == 0.0);
  CHECK(b.local_conv->weight.shape() == Shape{32, 1, 3, 3});
}

TEST_CASE("Swin and Mini-Swin errors name the problem") {
  SwinConfig c = small_swin();
  c.img_size = 27;
  CHECK_THROWS_WITH_SUBSTR(SwinTransformer(c), "not a multiple of the patch size");
  c = small_swin();
  c.num_heads = {3, 4};
  CHECK_THROWS_WITH_SUBSTR(SwinTransformer(c), "not divisible by its 3 heads");
  c = small_swin();
  c.num_heads = {2};
  CHECK_THROWS_WITH_SUBSTR(SwinTransformer(c), "one entry per stage");
  CHECK_THROWS_WITH_SUBSTR(SwinConfig::named("swin-huge"), "unknown Swin config");
  CHECK_THROWS_WITH_SUBSTR(MiniSwinConfig::named("mini-swin-huge"), "unknown Mini-Swin config");

  SwinTransformer swin(small_swin());
  CHECK_THROWS_WITH_SUBSTR(swin.forward(zeros({1, 1, 32, 32})), "expects images [B, 1, 28, 28]");
  CHECK_THROWS_WITH_SUBSTR(swin.forward(zeros({1, 3, 28, 28})), "expects images");
  CHECK_THROWS_WITH_SUBSTR(swin.forward(zeros({28, 28})), "expects images");
  CHECK_THROWS_WITH_SUBSTR((*swin.layers)[1]->forward(zeros({1, 7, 7, 5})), "token map");
  CHECK_THROWS_WITH_SUBSTR(swin.layers->operator[](0)->blocks->operator[](0)->forward(zeros({1, 4, 4, 5})), "normalized_shape");
  SwinWindowAttention attn(8, 2, 4, true);
  CHECK_THROWS_WITH_SUBSTR(attn.forward(zeros({2, 9, 8})), "expects windows");
  CHECK_THROWS_WITH_SUBSTR(attn.forward(zeros({3, 16, 8}), shifted_window_mask(8, 8, 4, 2)), "does not fit");

  MiniSwinConfig m;
  m.swin = small_swin(), m.separate_layers = {1, 3};
  CHECK_THROWS_WITH_SUBSTR(MiniSwin(m), "do not split into 3 equal groups");
  m.separate_layers = {1};
  CHECK_THROWS_WITH_SUBSTR(MiniSwin(m), "one entry per stage");
  m.separate_layers = {1, 1}, m.local_kernel = 4;
  CHECK_THROWS_WITH_SUBSTR(MiniSwin(m), "local_kernel must be odd");
}
