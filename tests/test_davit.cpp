// models/davit against PyTorch: timm's DaVit with the same small configs and weights
// (tests/golden/davit_{pico,pad}.safetensors, written by tests/golden/make_davit.py) must give the same
// logits, loss, parameter gradients (and, for pico, the same losses over 5 AdamW steps). Also: the
// channel attention against a loop written from the paper's formula, parameter counts and FLOPs of the
// published sizes, the ablation arms, attention maps, the corner probe's data, and the errors a wrong
// input or config gives.
// The full-size DaViT-Tiny forward against timm is in tests/test_davit_tiny.cpp (formula weights, no 110 MB file).
#include "io/json.h"
#include "data/synth/probe.h"
#include "models/davit.h"
#include "nn/init.h"
#include "io/safetensors.h"
#include "tests/golden_helpers.h"

using namespace iris;
using testing::json_ints;
using namespace iris::models;

namespace {

DavitConfig config_from(const SafetensorsFile& f) {
  json::Value c = json::parse(f.metadata.at("config"));
  DavitConfig cfg;
  cfg.img_size = c["img_size"].as_int();
  cfg.in_chans = c["in_chans"].as_int();
  cfg.num_classes = c["num_classes"].as_int();
  cfg.stem_kernel = c["stem_kernel"].as_int();
  cfg.stem_stride = c["stem_stride"].as_int();
  cfg.stem_padding = c["stem_padding"].as_int();
  cfg.embed_dims = json_ints(c["embed_dims"]);
  cfg.depths = json_ints(c["depths"]);
  cfg.num_heads = json_ints(c["num_heads"]);
  cfg.window_size = c["window_size"].as_int();
  cfg.mlp_ratio = c["mlp_ratio"].as_number();
  cfg.attn_types.clear();
  for (const json::Value& t : c["attn_types"].elements())
    cfg.attn_types.push_back(t.as_string() == "spatial" ? AttnKind::spatial : AttnKind::channel);
  return cfg;
}

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  DaVit model(config_from(g));
  testing::check_model_against_golden(model, g);
}

}  // namespace

TEST_CASE("DaViT with the miniature's structure matches timm (logits, gradients, 5 AdamW steps)") {
  check_against_golden("davit_pico");
}

TEST_CASE("DaViT with timm's stem, padded windows and odd maps, channel->spatial order, matches timm") {
  check_against_golden("davit_pad");
}

TEST_CASE("channel group attention follows the paper's formula (a loop over groups, channels and positions)") {
  // x [B, H, W, C] with C = 6 in G = 2 groups of Cg = 3, N = 2 x 3 = 6 positions.
  const int64_t B = 2, H = 2, W = 3, C = 6, G = 2, Cg = 3, N = H * W;
  Generator gen(7);
  ChannelAttention attn(C, G, true, &gen);
  nn::init::normal_(attn.qkv->bias, 0.0, 0.5, &gen);
  Tensor x = randn({B, H, W, C}, DType::f32, &gen);
  Tensor out = attn.forward(x);
  REQUIRE(out.shape() == Shape{B, H, W, C});

  // Reference: qkv = x Wqkv^T + b split into (q, k, v) = (P3, P1, P2) per group; for group g
  // A[a][b] = softmax_b(sum_n P1[n][a] P2[n][b] / sqrt(Cg)), y[n][a] = sum_b A[a][b] P3[n][b]; out = y Wp^T + bp.
  std::vector<double> xv = x.to_vector<double>(), wq = attn.qkv->weight.to_vector<double>(),
                      bq = attn.qkv->bias.to_vector<double>(), wp = attn.proj->weight.to_vector<double>(),
                      bp = attn.proj->bias.to_vector<double>();
  std::vector<double> expected(static_cast<size_t>(B * N * C));
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> qkv(static_cast<size_t>(N * 3 * C));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < 3 * C; ++o) {
        double s = bq[o];
        for (int64_t i = 0; i < C; ++i) s += xv[(b * N + n) * C + i] * wq[o * C + i];
        qkv[n * 3 * C + o] = s;
      }
    auto P = [&](int which, int64_t n, int64_t g, int64_t c) { return qkv[n * 3 * C + which * C + g * Cg + c]; };
    std::vector<double> y(static_cast<size_t>(N * C));
    for (int64_t g = 0; g < G; ++g) {
      for (int64_t a = 0; a < Cg; ++a) {
        std::vector<double> row(Cg);
        double mx = -1e300, total = 0;
        for (int64_t c2 = 0; c2 < Cg; ++c2) {
          double s = 0;
          for (int64_t n = 0; n < N; ++n) s += P(1, n, g, a) * P(2, n, g, c2);  // P1 = k, P2 = v
          row[c2] = s / std::sqrt(static_cast<double>(Cg));
          mx = std::max(mx, row[c2]);
        }
        for (double& r : row) total += (r = std::exp(r - mx));
        for (int64_t n = 0; n < N; ++n) {
          double s = 0;
          for (int64_t c2 = 0; c2 < Cg; ++c2) s += row[c2] / total * P(0, n, g, c2);  // P3 = q
          y[n * C + g * Cg + a] = s;
        }
      }
    }
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < C; ++o) {
        double s = bp[o];
        for (int64_t i = 0; i < C; ++i) s += y[n * C + i] * wp[o * C + i];
        expected[(b * N + n) * C + o] = s;
      }
  }
  CHECK_CLOSE(out, from_vector(expected).reshape({B, H, W, C}).to(DType::f32), 1e-5, 1e-4);

  // The weights: [B, G, Cg, Cg], rows sum to 1; the scale is the group width, not N.
  Tensor a = attn.attention_weights(x);
  CHECK(a.shape() == Shape{B, G, Cg, Cg});
  CHECK_CLOSE(sum(a, {3}), ones({B, G, Cg}), 1e-5, 0);
}

TEST_CASE("parameter counts and FLOPs of DaViT-Tiny/Small/Base match the published ones") {
  // timm 1.0.31 (sum of p.numel()): davit_tiny 28,360,168; davit_small 49,745,896; davit_base 87,954,408.
  // Published (README): 28.3M / 49.7M / 87.9M parameters, 4.5G / 8.8G / 15.5G FLOPs (multiply-adds).
  struct Want {
    const char* name;
    int64_t timm_count;
    double published_params, published_macs;
  };
  for (Want w : {Want{"davit-tiny", 28360168, 28.3e6, 4.5e9}, Want{"davit-small", 49745896, 49.7e6, 8.8e9},
                 Want{"davit-base", 87954408, 87.9e6, 15.5e9}}) {
    CAPTURE(w.name);
    int64_t count;
    {
      nn::init::SkipInitGuard skip;  // the counts do not depend on the values
      count = DaVit(DavitConfig::named(w.name)).parameter_count();
    }
    CHECK(count == w.timm_count);
    CHECK(std::fabs(count - w.published_params) <= 0.01 * w.published_params);
    double macs = static_cast<double>(davit_macs(DavitConfig::named(w.name)));
    CHECK_MESSAGE(std::fabs(macs - w.published_macs) <= 0.02 * w.published_macs, "MACs " << macs);
  }
  // davit-pico: about 0.3-0.6M parameters and ~20M multiply-adds per 32x32 image (spec: ~40 MFLOP).
  DavitConfig pico = DavitConfig::named("davit-pico");
  int64_t pico_params = DaVit(pico).parameter_count();
  CHECK(pico_params > 300000);
  CHECK(pico_params < 700000);
  CHECK(davit_macs(pico) > 15000000);
  CHECK(davit_macs(pico) < 30000000);
}

TEST_CASE("attention cost grows linearly with the number of tokens (analytic FLOPs)") {
  // Doubling the image side gives 4x the tokens: the window and channel attention products grow 4x
  // (linear), where global attention would grow 16x. Maps stay multiples of the window at both sizes.
  auto attention_macs = [](const DavitConfig& c, const std::string& kind) {
    int64_t total = 0;
    for (const LayerMacs& l : davit_layer_macs(c))
      if (l.name.find("scores+mix (" + kind + ")") != std::string::npos) total += l.macs;
    return total;
  };
  DavitConfig small = DavitConfig::named("davit-tiny"), big = small;
  big.img_size = 448;
  for (const char* kind : {"window", "channel"}) {
    CAPTURE(kind);
    int64_t a = attention_macs(small, kind), b = attention_macs(big, kind);
    REQUIRE(a > 0);
    CHECK(b == 4 * a);
  }
}

TEST_CASE("ablation arms: block kinds, parameter names and counts") {
  DavitConfig pico = DavitConfig::named("davit-pico");
  CHECK(pico.arm() == "dual");
  std::map<std::string, int64_t> counts;
  for (const std::string& arm : DavitConfig::arms()) {
    CAPTURE(arm);
    DavitConfig c = pico.with_arm(arm);
    CHECK(c.arm() == arm);
    DaVit m(c);
    counts[arm] = m.parameter_count();
    const auto& first = *(*(*m.stages)[0]->blocks)[0];
    REQUIRE(first.size() == 2);
    AttnKind k0 = first[0]->kind, k1 = first[1]->kind;
    if (arm == "spatial") CHECK((k0 == AttnKind::spatial && k1 == AttnKind::spatial));
    if (arm == "channel") CHECK((k0 == AttnKind::channel && k1 == AttnKind::channel));
    if (arm == "dual" || arm == "dual-nope") CHECK((k0 == AttnKind::spatial && k1 == AttnKind::channel));
    if (arm == "dual-cs") CHECK((k0 == AttnKind::channel && k1 == AttnKind::spatial));
    bool has_cpe = false;
    for (auto& [name, t] : m.named_parameters()) has_cpe |= name.find("cpe") != std::string::npos;
    CHECK(has_cpe == (arm != "dual-nope"));
    CHECK(m.forward(rand({2, 1, 32, 32})).shape() == Shape{2, 10});
  }
  // The two attention kinds have the same parameters (qkv + proj): the arms differ only by ConvPosEnc.
  CHECK(counts["spatial"] == counts["dual"]);
  CHECK(counts["channel"] == counts["dual"]);
  CHECK(counts["dual-cs"] == counts["dual"]);
  // 6 blocks x 2 ConvPosEnc x (9 + 1) C parameters
  CHECK(counts["dual"] - counts["dual-nope"] == 2 * 2 * 10 * (32 + 64 + 128));
  CHECK(davit_macs(pico.with_arm("dual-nope")) < davit_macs(pico));
  // names: the second block of a dual block is ".1", e.g. stages.0.blocks.0.1.attn.qkv.weight
  DaVit m(pico);
  bool found = false;
  for (auto& [name, t] : m.named_parameters()) found |= name == "stages.0.blocks.0.1.attn.qkv.weight";
  CHECK(found);
  CHECK_THROWS_WITH_SUBSTR(pico.with_arm("parallel"), "unknown DaViT arm");

  // The same seed gives the arms the same weights (their shapes agree), yet different functions.
  Generator g1(3), g2(3), g3(3);
  DaVit dual(pico, &g1), channel(pico.with_arm("channel"), &g2), cs(pico.with_arm("dual-cs"), &g3);
  Tensor x = rand({2, 1, 32, 32});
  Tensor y_dual = dual.forward(x), y_channel = channel.forward(x), y_cs = cs.forward(x);
  CHECK(max(abs(y_dual - y_channel)).item() > 1e-4);
  CHECK(max(abs(y_dual - y_cs)).item() > 1e-4);
}

TEST_CASE("attention maps: shapes, rows that sum to 1, and any input size") {
  DaVit m(DavitConfig::named("davit-pico"));
  Tensor images = rand({3, 1, 32, 32});
  DavitAttentionMaps a = m.attention_maps(images, 0);
  CHECK(a.map_h == 16);
  CHECK(a.window == 4);
  REQUIRE(a.spatial.defined());
  REQUIRE(a.channel.defined());
  CHECK(a.spatial.shape() == Shape{3, 4, 4, 2, 16, 16});  // 4x4 windows of 4x4 tokens, 2 heads
  CHECK(a.channel.shape() == Shape{3, 2, 16, 16});        // 2 groups of 16 channels
  CHECK_CLOSE(sum(a.spatial, {5}), ones({3, 4, 4, 2, 16}), 1e-5, 0);
  CHECK_CLOSE(sum(a.channel, {3}), ones({3, 2, 16, 16}).select(3, 0), 1e-5, 0);
  DavitAttentionMaps last = m.attention_maps(images, 2);
  CHECK(last.spatial.shape() == Shape{3, 1, 1, 8, 16, 16});  // stage 3: one window over the 4x4 map
  CHECK(m.is_training());                                    // restored after the no-grad pass

  // DaViT is size-agnostic: a 20x28 image pads its windows (10x14 -> 12x16) and its odd maps.
  CHECK(m.forward(rand({1, 1, 20, 28})).shape() == Shape{1, 10});
  CHECK(m.attention_maps(rand({1, 1, 20, 28}), 0).spatial.shape() == Shape{1, 3, 4, 2, 16, 16});
}

TEST_CASE("DaViT input and config errors") {
  DaVit m(DavitConfig::named("davit-pico"));
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({2, 3, 32, 32})), "expects images [B, 1, H, W]");
  CHECK_THROWS_WITH_SUBSTR(m.forward(zeros({1, 32, 32})), "expects images");
  CHECK_THROWS_WITH_SUBSTR(m.attention_maps(zeros({1, 1, 32, 32}), 3), "stage 3 does not exist");
  CHECK_THROWS_WITH_SUBSTR(DavitConfig::named("davit-huge"), "unknown DaViT config");
  DavitConfig bad = DavitConfig::named("davit-pico");
  bad.num_heads = {3, 4, 8};
  CHECK_THROWS_WITH_SUBSTR(DaVit{bad}, "not divisible by its 3 heads");
  bad = DavitConfig::named("davit-pico");
  bad.depths = {1, 1};
  CHECK_THROWS_WITH_SUBSTR(DaVit{bad}, "one entry per stage");
  bad = DavitConfig::named("davit-pico");
  bad.attn_types.clear();
  CHECK_THROWS_WITH_SUBSTR(davit_macs(bad), "at least one attention kind");
  ChannelAttention ca(8, 2, true);
  CHECK_THROWS_WITH_SUBSTR(ca.forward(zeros({1, 4, 8})), "expects a token map [B, H, W, 8]");
  WindowAttention wa(8, 2, 4, true);
  CHECK_THROWS_WITH_SUBSTR(wa.forward(zeros({1, 4, 4, 6})), "expects a token map [B, H, W, 8]");
}

TEST_CASE("corner probe: two letters in opposite quadrants, deterministic, both labellings") {
  for (bool pair : {false, true}) {
    CAPTURE(pair);
    synth::CornerProbeOptions o;
    o.pair_label = pair;
    data::LabelledImages a = synth::make_corner_probe(200, 5, o), b = synth::make_corner_probe(50, 5, o);
    REQUIRE(a.images.shape() == Shape{200, 32, 32});
    CHECK(a.images.dtype() == DType::u8);
    CHECK(a.images.slice(0, 0, 50).contiguous().to_vector<uint8_t>() == b.images.to_vector<uint8_t>());  // prefix
    CHECK(synth::make_corner_probe(50, 6, o).images.to_vector<uint8_t>() != b.images.to_vector<uint8_t>());
    std::vector<int64_t> labels = a.labels.to_vector<int64_t>();
    std::vector<uint8_t> px = a.images.to_vector<uint8_t>();
    int64_t ones = 0;
    for (int64_t i = 0; i < 200; ++i) {
      CHECK(labels[i] >= 0);
      CHECK(labels[i] < (pair ? 16 : 2));
      ones += labels[i] == 1;
      int ink[2][2] = {{0, 0}, {0, 0}};  // per quadrant [top/bottom][left/right], noise is off by default
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x) ink[y / 16][x / 16] += px[i * 1024 + y * 32 + x] > 0;
      bool main_diagonal = ink[0][0] > 0 && ink[1][1] > 0 && ink[0][1] == 0 && ink[1][0] == 0;
      bool other_diagonal = ink[0][1] > 0 && ink[1][0] > 0 && ink[0][0] == 0 && ink[1][1] == 0;
      CHECK((main_diagonal || other_diagonal));
      if (!pair && labels[i] == 1) CHECK(ink[0][0] + ink[0][1] == ink[1][0] + ink[1][1]);  // the same letter twice
    }
    if (!pair) CHECK((ones > 70 && ones < 130));  // about half the pairs are the same letter
  }
  synth::CornerProbeOptions pair;
  pair.pair_label = true;
  std::vector<std::string> names = synth::corner_probe_classes(pair);
  REQUIRE(names.size() == 16);
  CHECK(names[1] == "A/O");
  CHECK(synth::corner_probe_classes().size() == 2);
  synth::CornerProbeOptions bad;
  bad.glyphs = 9;
  CHECK_THROWS_WITH_SUBSTR(synth::make_corner_probe(1, 0, bad), "glyphs must be in [2, 8]");
  bad = synth::CornerProbeOptions();
  bad.size = 20;
  CHECK_THROWS_WITH_SUBSTR(synth::make_corner_probe(1, 0, bad), "too small");
}
