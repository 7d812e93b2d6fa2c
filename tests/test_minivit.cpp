// models/minivit: weight sharing (one parameter, gradients summed over the layers that use it), equality with
// timm's VisionTransformer (avg pooling, no class token, final norm on all tokens) when nothing is shared,
// goldens for the transforms (tests/golden/minivit_*.safetensors from make_minivit.py), an f64 gradcheck of the
// transformed attention, parameter counts, errors and forward_trace. Leaves out: training runs (apps/minivit).
#include "io/json.h"
#include "models/minivit.h"
#include "nn/init.h"
#include "io/safetensors.h"
#include "tests/golden_helpers.h"

using namespace iris;
using namespace iris::models;
using testing::with_prefix;

namespace {

MiniVitConfig config_from(const SafetensorsFile& f) {
  json::Value c = json::parse(f.metadata.at("config"));
  MiniVitConfig cfg;
  cfg.vit.img_size = c["img_size"].as_int();
  cfg.vit.patch_size = c["patch_size"].as_int();
  cfg.vit.in_chans = c["in_chans"].as_int();
  cfg.vit.num_classes = c["num_classes"].as_int();
  cfg.vit.embed_dim = c["embed_dim"].as_int();
  cfg.vit.depth = c["depth"].as_int();
  cfg.vit.num_heads = c["num_heads"].as_int();
  cfg.vit.mlp_ratio = c["mlp_ratio"].as_number();
  cfg.vit.class_token = false;
  cfg.share = c["share"].as_int();
  cfg.per_layer_norm = c["per_layer_norm"].as_bool();
  cfg.attn_transform = c["attn_transform"].as_bool();
  cfg.transform_bias = c["transform_bias"].as_bool();
  const std::string& t = c["mlp_transform"].as_string();
  cfg.mlp_transform = t == "dwconv" ? MlpTransform::dwconv : t == "relpos" ? MlpTransform::relpos : MlpTransform::none;
  cfg.dwconv_kernel = c["dwconv_kernel"].as_int();
  return cfg;
}

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  MiniVit model(config_from(g));
  // strict: every name of the file must exist here and every name here in the file
  model.load_state_dict(with_prefix(g, "param."));
  CHECK(model.state_dict().size() == with_prefix(g, "param.").size());
  Tensor loss = testing::check_logits_against_golden(model, g);
  loss.backward();
  // unique parameters, first name (as PyTorch)
  testing::check_gradients_against_golden(model, g, [&g](const std::string& pname, const Tensor& grad) {
    if (pname.find("pre_mix.bias") == std::string::npos) return false;
    // A per-head constant added before the softmax over keys cancels in it: the gradient is zero in exact
    // arithmetic (both sides hold rounding noise), so compare magnitudes instead.
    CHECK(max(abs(grad)).item() < 1e-5);
    CHECK(max(abs(g.get("grad." + pname))).item() < 1e-5);
    return true;
  });
}

// A small MiniViT: 8x8 images, patch 2 (4x4 tokens), dim 8, 2 heads, 4 layers.
MiniVitConfig tiny_config(int64_t share, MlpTransform t = MlpTransform::dwconv) {
  MiniVitConfig c;
  c.vit.img_size = 8, c.vit.patch_size = 2, c.vit.in_chans = 1, c.vit.num_classes = 3;
  c.vit.embed_dim = 8, c.vit.depth = 4, c.vit.num_heads = 2, c.vit.mlp_ratio = 2.0, c.vit.class_token = false;
  c.share = share;
  c.mlp_transform = t;
  return c;
}

// An f64 leaf with the values of randn * scale, put in place of a module's member tensor.
void f64_leaf(Tensor& slot, uint64_t seed, double scale) {
  Generator g(seed);
  slot = (randn(slot.shape(), DType::f64, &g) * scale).detach().requires_grad_(true);
}

}  // namespace

TEST_CASE("shared weights are one parameter whose gradient is the sum over the layers that use it") {
  for (MlpTransform t : {MlpTransform::dwconv, MlpTransform::relpos, MlpTransform::none}) {
    CAPTURE(static_cast<int>(t));
    Generator gen(3);
    MiniVit shared(tiny_config(2, t), &gen);
    MiniVit tied(tiny_config(1, t), &gen);
    // The shared model's state dict names every weight under every layer: loading it into the unshared model
    // makes layers 2k and 2k+1 tied copies of weight set k.
    tied.load_state_dict(shared.state_dict());
    CHECK(shared.unique_blocks() == 2);
    CHECK(tied.unique_blocks() == 4);
    CHECK(shared.depth() == 4);
    CHECK(shared.blocks->size() == 4);
    CHECK((*shared.blocks)[0]->attn->qkv.get() == (*shared.blocks)[1]->attn->qkv.get());
    CHECK((*shared.blocks)[1]->attn->qkv.get() != (*shared.blocks)[2]->attn->qkv.get());
    CHECK((*shared.blocks)[0]->norm1.get() != (*shared.blocks)[1]->norm1.get());  // per-layer norms

    Tensor images = rand({2, 1, 8, 8}, DType::f32, &gen);
    Tensor r = randn({2, 3}, DType::f32, &gen);
    Tensor ls = shared.forward(images), lt = tied.forward(images);
    CHECK_CLOSE(ls, lt, 1e-6, 1e-6);
    sum(ls * r).backward();
    sum(lt * r).backward();

    auto params_t = tied.state_dict();
    auto grad_of = [&](const std::string& name) {
      for (auto& [n, p] : params_t)
        if (n == name) return p.grad();
      FAIL("no parameter " << name);
      return Tensor();
    };
    int shared_checked = 0;
    for (auto& [name, p] : shared.named_parameters()) {
      CAPTURE(name);
      REQUIRE(p.grad().defined());
      bool is_shared = name.find(".attn.qkv.") != std::string::npos || name.find(".attn.proj.") != std::string::npos ||
                       name.find(".mlp.") != std::string::npos;
      if (is_shared) {
        // named under the first layer of its set; the tied model's copies are layers 2k and 2k+1
        REQUIRE(name.rfind("blocks.", 0) == 0);
        int layer = std::stoi(name.substr(7));
        CHECK(layer % 2 == 0);
        std::string rest = name.substr(name.find('.', 7));
        Tensor sum_of_copies = grad_of("blocks." + std::to_string(layer) + rest) +
                               grad_of("blocks." + std::to_string(layer + 1) + rest);
        CHECK_CLOSE(p.grad(), sum_of_copies, 1e-5, 1e-4);
        ++shared_checked;
      } else {
        CHECK_CLOSE(p.grad(), grad_of(name), 1e-5, 1e-4);
      }
    }
    CHECK(shared_checked == 2 * 8);  // 2 sets x {qkv, proj, fc1, fc2} x {weight, bias}
  }
}

TEST_CASE("unshared MiniViT without transforms is timm's VisionTransformer(class_token=False, global_pool='avg')") {
  check_against_golden("minivit_timm");
}

TEST_CASE("MiniViT with head mixing (bias) and the LN + depthwise-conv transform matches the PyTorch reference") {
  check_against_golden("minivit_dwconv");
}

TEST_CASE("MiniViT with one weight set, shared norms, head mixing (no bias) and relpos matches the reference") {
  check_against_golden("minivit_relpos");
}

TEST_CASE("transformed attention: gradcheck in f64 and reduction to plain attention") {
  // D = 4, H = 2 heads, N = 4 tokens on a 2x2 grid, with relpos, pre/post head mixing with bias.
  Generator gen(11);
  auto qkv = std::make_shared<nn::Linear>(4, 12, true, &gen);
  auto proj = std::make_shared<nn::Linear>(4, 4, true, &gen);
  MiniVitAttention attn(qkv, proj, 2, true, true, 2, 0.0, &gen);
  CHECK(attn.rel_bias.shape() == Shape{9});
  f64_leaf(qkv->weight, 1, 0.7);
  f64_leaf(qkv->bias, 2, 0.3);
  f64_leaf(proj->weight, 3, 0.7);
  f64_leaf(proj->bias, 4, 0.3);
  f64_leaf(attn.pre_mix->weight, 5, 0.8);
  f64_leaf(attn.pre_mix->bias, 6, 0.3);
  f64_leaf(attn.post_mix->weight, 7, 0.8);
  f64_leaf(attn.post_mix->bias, 8, 0.3);
  f64_leaf(attn.rel_bias, 9, 0.5);
  Tensor x = testing::randn64({2, 4, 4}, 10);
  std::vector<Tensor> inputs = {x, qkv->weight, qkv->bias, proj->weight, proj->bias, attn.pre_mix->weight,
                                attn.pre_mix->bias, attn.post_mix->weight, attn.post_mix->bias, attn.rel_bias};
  GradcheckOptions opts;
  opts.atol = 1e-7;
  CHECK_GRADCHECK([&](const std::vector<Tensor>& in) { return attn.forward(in[0]); }, inputs, opts);
  // non-contiguous tokens give the same output
  CHECK_CLOSE(attn.forward(testing::noncontiguous(x)), attn.forward(x), 1e-12, 1e-12);

  // Reference loop for one output: logits -> +rel bias -> pre mix -> softmax -> post mix -> @ v -> proj.
  {
    NoGradGuard ng;
    const int64_t B = 2, N = 4, D = 4, H = 2, d = 2, g = 2;
    std::vector<double> xv = x.to_vector<double>(), wq = qkv->weight.to_vector<double>(),
                        bq = qkv->bias.to_vector<double>(), wp = proj->weight.to_vector<double>(),
                        bp = proj->bias.to_vector<double>(), f1 = attn.pre_mix->weight.to_vector<double>(),
                        c1 = attn.pre_mix->bias.to_vector<double>(), f2 = attn.post_mix->weight.to_vector<double>(),
                        c2 = attn.post_mix->bias.to_vector<double>(), rb = attn.rel_bias.to_vector<double>();
    std::vector<double> expected(B * N * D);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<double> t(N * 3 * D);
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < 3 * D; ++o) {
          double s = bq[o];
          for (int64_t i = 0; i < D; ++i) s += xv[(b * N + n) * D + i] * wq[o * D + i];
          t[n * 3 * D + o] = s;
        }
      auto q = [&](int64_t h, int64_t n, int64_t c) { return t[n * 3 * D + h * d + c]; };
      auto k = [&](int64_t h, int64_t n, int64_t c) { return t[n * 3 * D + D + h * d + c]; };
      auto v = [&](int64_t h, int64_t n, int64_t c) { return t[n * 3 * D + 2 * D + h * d + c]; };
      std::vector<double> a(H * N * N), mixed(H * N * N), p(H * N * N), out(N * D);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < N; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double s = 0;
            for (int64_t c = 0; c < d; ++c) s += q(h, i, c) * k(h, j, c);
            int64_t off = (i / g - j / g + g - 1) * (2 * g - 1) + (i % g - j % g + g - 1);
            a[(h * N + i) * N + j] = s / std::sqrt(double(d)) + rb[off];
          }
      for (int64_t h = 0; h < H; ++h)
        for (int64_t ij = 0; ij < N * N; ++ij) {
          double s = c1[h];
          for (int64_t h2 = 0; h2 < H; ++h2) s += f1[h * H + h2] * a[h2 * N * N + ij];
          mixed[h * N * N + ij] = s;
        }
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < N; ++i) {
          double m = -1e300, z = 0;
          for (int64_t j = 0; j < N; ++j) m = std::max(m, mixed[(h * N + i) * N + j]);
          for (int64_t j = 0; j < N; ++j) z += std::exp(mixed[(h * N + i) * N + j] - m);
          for (int64_t j = 0; j < N; ++j) p[(h * N + i) * N + j] = std::exp(mixed[(h * N + i) * N + j] - m) / z;
        }
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < N; ++i)
          for (int64_t c = 0; c < d; ++c) {
            double s = 0;
            for (int64_t j = 0; j < N; ++j) {
              double post = c2[h];
              for (int64_t h2 = 0; h2 < H; ++h2) post += f2[h * H + h2] * p[(h2 * N + i) * N + j];
              s += post * v(h, j, c);
            }
            out[i * D + h * d + c] = s;
          }
      for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < D; ++o) {
          double s = bp[o];
          for (int64_t i = 0; i < D; ++i) s += out[n * D + i] * wp[o * D + i];
          expected[(b * N + n) * D + o] = s;
        }
    }
    CHECK_CLOSE(attn.forward(x), from_vector(expected).reshape({B, N, D}), 1e-12, 1e-10);

    // Identity mixing, zero biases and a zero relpos table: the plain (timm) attention.
    MiniVitAttention plain(qkv, proj, 2, false, false, 0, 0.0);
    attn.pre_mix->weight.copy_(eye(2, -1, DType::f64));
    attn.post_mix->weight.copy_(eye(2, -1, DType::f64));
    for (Tensor* t : {&attn.pre_mix->bias, &attn.post_mix->bias, &attn.rel_bias}) t->fill_(0.0);
    CHECK_CLOSE(attn.forward(x), plain.forward(x), 1e-12, 1e-10);
  }
}

TEST_CASE("parameter counts: DeiT without class token, Mini-DeiT, and shared tensors counted once") {
  nn::init::SkipInitGuard skip;  // the counts do not depend on the values
  struct Want {
    const char* name;
    int64_t exact;
    double spec;  // the spec's (README) size
    double tol;   // relative
  };
  // deit-*-gap: timm's deit_{tiny,small,base} counts minus the class token and its position slot (2 D).
  // mini-deit-*: the gap count minus the 6 shared copies of qkv/proj/fc1/fc2 (12 D^2 + 9 D each), plus per layer
  // two H x H mixes (no bias) and a (2*14-1)^2 = 729 relpos table. The README rounds to whole millions
  // (3M / 11M / 44M; tiny and small come out at 3.06M and 11.41M), so those are checked to 0.5M.
  auto mini = [](int64_t gap, int64_t D, int64_t H) { return gap - 6 * (12 * D * D + 9 * D) + 12 * (2 * H * H + 729); };
  for (Want w : {Want{"deit-tiny-gap", 5717416 - 384, 5.7e6, 0.02}, Want{"deit-small-gap", 22050664 - 768, 22e6, 0.02},
                 Want{"deit-base-gap", 86567656 - 1536, 86e6, 0.02},
                 Want{"mini-deit-tiny", mini(5717416 - 384, 192, 3), 3e6, 0.5 / 3},
                 Want{"mini-deit-small", mini(22050664 - 768, 384, 6), 11e6, 0.5 / 11},
                 Want{"mini-deit-base", mini(86567656 - 1536, 768, 12), 44e6, 0.02}}) {
    CAPTURE(w.name);
    MiniVit m(MiniVitConfig::named(w.name));
    int64_t count = m.parameter_count();
    CHECK(count == w.exact);
    CHECK(std::fabs(static_cast<double>(count) - w.spec) <= w.tol * w.spec);
  }

  // FMNIST: the teacher is about 0.2M; sharing by 2 removes exactly the 3 shared copies of qkv/proj/fc1/fc2.
  MiniVitConfig c = MiniVitConfig::named("minivit-fmnist");
  const int64_t D = 64, Hd = 128;
  const int64_t set_params = (D * 3 * D + 3 * D) + (D * D + D) + (D * Hd + Hd) + (Hd * D + D);
  int64_t teacher = MiniVit(MiniVitConfig::named("teacher-fmnist")).parameter_count();
  CHECK(teacher == 1088 + 49 * 64 + 6 * (set_params + 4 * D) + 2 * D + (10 * D + 10));
  CHECK(teacher > 190000);
  CHECK(teacher < 220000);
  c.share = 1;
  int64_t unshared = MiniVit(c).parameter_count();
  c.share = 2;
  MiniVit shared(c);
  CHECK(shared.parameter_count() == unshared - 3 * set_params);
  // the state dict still names every layer's copy
  CHECK(static_cast<int64_t>(shared.state_dict().size()) == static_cast<int64_t>(MiniVit(MiniVitConfig{c}).state_dict().size()));
  c.share = 6;  // one weight set ("single layer")
  CHECK(MiniVit(c).parameter_count() == unshared - 5 * set_params);
  c.share = 2;
  c.per_layer_norm = false;  // norm1/norm2 shared too: 3 more copies of 4 D
  CHECK(MiniVit(c).parameter_count() == unshared - 3 * set_params - 3 * 4 * D);
  // the per-layer transforms of minivit-fmnist: 2 x (16 + 4) mixing + LN (2D) + dwconv (9D + D) per layer
  MiniVitConfig bare = MiniVitConfig::named("minivit-fmnist");
  bare.attn_transform = false;
  bare.mlp_transform = MlpTransform::none;
  CHECK(shared.parameter_count() - MiniVit(bare).parameter_count() == 6 * (2 * 20 + 2 * D + 10 * D));
}

TEST_CASE("MiniViT config and input errors") {
  MiniVitConfig c = MiniVitConfig::named("minivit-fmnist");
  c.share = 4;
  CHECK_THROWS_WITH_SUBSTR(MiniVit{c}, "share 4 does not divide depth 6");
  c.share = 0;
  CHECK_THROWS_WITH_SUBSTR(MiniVit{c}, "does not divide depth");
  c = MiniVitConfig::named("minivit-fmnist");
  c.vit.patch_size = 5;
  CHECK_THROWS_WITH_SUBSTR(MiniVit{c}, "not a multiple of patch_size");
  c = MiniVitConfig::named("minivit-fmnist");
  c.vit.class_token = true;
  CHECK_THROWS_WITH_SUBSTR(MiniVit{c}, "no class token");
  c = MiniVitConfig::named("minivit-fmnist");
  c.dwconv_kernel = 4;
  CHECK_THROWS_WITH_SUBSTR(MiniVit{c}, "dwconv_kernel must be odd");
  CHECK_THROWS_WITH_SUBSTR(MiniVitConfig::named("mini-deit-huge"), "unknown MiniViT config");
  for (const std::string& n : MiniVitConfig::names()) CHECK_NOTHROW(MiniVitConfig::named(n));

  MiniVit m(MiniVitConfig::named("minivit-fmnist"));
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({2, 1, 32, 32})), "expects images [B, 1, 28, 28]");
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({1, 28, 28})), "expects images");
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({2, 3, 28, 28})), "expects images [B, 1, 28, 28]");
  CHECK_THROWS_WITH_SUBSTR((*m.blocks)[0]->forward(zeros({2, 50, 64})), "dwconv expects 7x7 tokens");
  CHECK_THROWS_WITH_SUBSTR((*m.blocks)[0]->attn->forward(zeros({2, 49, 32})), "expects tokens [B, N, 64]");
  MiniVit r(tiny_config(2, MlpTransform::relpos));
  CHECK_THROWS_WITH_SUBSTR((*r.blocks)[0]->attn->forward(zeros({1, 5, 8})), "table is for 4x4 = 16 tokens");
}

TEST_CASE("forward_trace: per-layer raw q, k, v and block outputs, the same logits as forward") {
  Generator gen(5);
  MiniVit m(MiniVitConfig::named("minivit-fmnist"), &gen);
  Tensor images = rand({1, 1, 28, 28}, DType::f32, &gen);
  MiniVitTrace trace;
  Tensor logits = m.forward_trace(images, &trace);
  CHECK(logits.shape() == Shape{1, 10});
  CHECK_CLOSE(logits, m.forward(images), 0.0, 0.0);
  for (auto* v : {&trace.q, &trace.k, &trace.v, &trace.hidden}) {
    REQUIRE(v->size() == 6);
    for (const Tensor& t : *v) CHECK(t.shape() == Shape{1, 49, 64});
  }
  NoGradGuard ng;
  // layer 0's q, k, v are the qkv Linear on norm1(embedded tokens), split in three along D
  Tensor x0 = m.patch_embed->forward(images) + m.pos_embed;
  const auto& b0 = (*m.blocks)[0];
  Tensor raw = b0->attn->qkv->forward(b0->norm1->forward(x0));
  CHECK_CLOSE(trace.q[0], raw.slice(2, 0, 64), 1e-6, 1e-6);
  CHECK_CLOSE(trace.k[0], raw.slice(2, 64, 128), 1e-6, 1e-6);
  CHECK_CLOSE(trace.v[0], raw.slice(2, 128, 192), 1e-6, 1e-6);
  // each hidden is its block applied to the previous one; the logits are the head on the last one
  CHECK_CLOSE(trace.hidden[0], b0->forward(x0), 1e-6, 1e-6);
  CHECK_CLOSE(trace.hidden[3], (*m.blocks)[3]->forward(trace.hidden[2]), 1e-6, 1e-6);
  CHECK_CLOSE(logits, m.head->forward(mean(m.norm->forward(trace.hidden[5]), {1})), 1e-6, 1e-6);
  // a second call replaces the trace rather than appending
  m.forward_trace(images, &trace);
  CHECK(trace.hidden.size() == 6);

  std::vector<std::string> prefixes = m.block_parameter_prefixes();
  REQUIRE(prefixes.size() == 6);
  CHECK(prefixes[0] == "blocks.0.");
  CHECK(prefixes[5] == "blocks.5.");
  CHECK(m.unique_blocks() == 3);
}

TEST_CASE("drop path and attention dropout run in training and are the identity in eval") {
  MiniVitConfig c = tiny_config(2, MlpTransform::relpos);
  c.vit.drop_path_rate = 0.5;
  c.vit.attn_drop_rate = 0.3;
  Generator gen(9);
  MiniVit m(c, &gen);
  Tensor images = rand({3, 1, 8, 8}, DType::f32, &gen);
  m.eval();
  Tensor a = m.forward(images);
  CHECK_CLOSE(m.forward(images), a, 0.0, 0.0);
  CHECK((*m.blocks)[0]->drop_path->p == 0.0);
  CHECK((*m.blocks)[3]->drop_path->p == doctest::Approx(0.5));
  m.train();
  Tensor b = m.forward(images);
  CHECK(b.shape() == a.shape());
  sum(b).backward();
  CHECK((*m.blocks)[0]->attn->qkv->weight.grad().defined());
}
