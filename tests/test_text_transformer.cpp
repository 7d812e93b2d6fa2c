// models/text_transformer against open_clip: its TextTransformer with the same tiny config and weights
// (tests/golden/text_*.safetensors, written by make_unicl.py; QuickGELU + causal mask, and GELU without a
// mask) must give the same features and every parameter gradient. Also: the causal mask (later tokens do
// not change an earlier end token's feature), shorter inputs, i32 ids, parameter names, and the errors.
#include <algorithm>

#include "io/json.h"
#include "models/text_transformer.h"
#include "io/safetensors.h"
#include "tests/golden_helpers.h"

using namespace iris;
using namespace iris::models;
using testing::scaled_error;
using testing::with_prefix;

namespace {

TextTransformerConfig config_from(const SafetensorsFile& f) {
  json::Value c = json::parse(f.metadata.at("config"));
  TextTransformerConfig cfg;
  cfg.context_length = c["context_length"].as_int();
  cfg.vocab_size = c["vocab_size"].as_int();
  cfg.width = c["width"].as_int();
  cfg.heads = c["heads"].as_int();
  cfg.layers = c["layers"].as_int();
  cfg.embed_dim = c["output_dim"].as_int();
  cfg.quick_gelu = c["quick_gelu"].as_bool();
  cfg.causal = c["causal"].as_bool();
  return cfg;
}

void check_against_golden(const std::string& name) {
  CAPTURE(name);
  SafetensorsFile g = load_safetensors("tests/golden/" + name + ".safetensors");
  TextTransformer model(config_from(g));
  model.load_state_dict(with_prefix(g, "param."));  // strict: every open_clip name exists here
  Tensor features = model.encode(g.get("input.ids"), g.get("input.eot"));
  double e = scaled_error(features, g.get("out.features"));
  CHECK_MESSAGE(e <= 1e-5, "features: scaled error " << e);
  Tensor loss = sum(features * g.get("input.weights"));
  CHECK(loss.item() == doctest::Approx(g.get("out.loss").item()).epsilon(1e-5));
  loss.backward();
  testing::check_gradients_against_golden(model, g);
}

TextTransformerConfig tiny() {
  TextTransformerConfig c;
  c.vocab_size = 20, c.context_length = 8, c.width = 16, c.heads = 2, c.layers = 2, c.embed_dim = 12;
  return c;
}

}  // namespace

TEST_CASE("text tower with QuickGELU and a causal mask matches open_clip (features, every gradient)") {
  check_against_golden("text_quickgelu_causal");
}

TEST_CASE("text tower with GELU and no mask matches open_clip") { check_against_golden("text_gelu_bidir"); }

TEST_CASE("text tower: open_clip names, shapes and parameter count") {
  TextTransformer m(tiny());
  auto params = m.named_parameters();
  std::vector<std::string> names;
  for (auto& [n, p] : params) names.push_back(n);
  for (const char* want : {"token_embedding.weight", "positional_embedding", "transformer.resblocks.0.ln_1.weight",
                           "transformer.resblocks.1.attn.in_proj_weight", "transformer.resblocks.1.attn.in_proj_bias",
                           "transformer.resblocks.0.attn.out_proj.weight", "transformer.resblocks.0.mlp.c_fc.weight",
                           "transformer.resblocks.1.mlp.c_proj.bias", "ln_final.bias", "text_projection"})
    CHECK_MESSAGE(std::find(names.begin(), names.end(), want) != names.end(), want);
  CHECK(m.positional_embedding.shape() == Shape{8, 16});
  CHECK(m.text_projection.shape() == Shape{16, 12});
  // per block: 2 LN (4W) + in_proj (3W^2 + 3W) + out_proj (W^2 + W) + MLP (8W^2 + 5W)
  const int64_t W = 16, block = 4 * W + 3 * W * W + 3 * W + W * W + W + 8 * W * W + 5 * W;
  CHECK(m.parameter_count() == 20 * W + 8 * W + 2 * block + 2 * W + W * 12);
}

TEST_CASE("causal mask: tokens after the end token do not change the feature; without the mask they do") {
  Generator gen(3);
  TextTransformerConfig c = tiny();
  TextTransformer causal(c, &gen);
  c.causal = false;
  Generator gen2(3);
  TextTransformer bidir(c, &gen2);
  Tensor mask = TextTransformer::causal_mask(4);
  CHECK(mask.dtype() == DType::b8);
  CHECK(mask.to(DType::i64).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0});

  Tensor ids_a = from_vector(std::vector<int64_t>{3, 5, 19, 0, 0, 0, 4, 19}, {2, 4});
  Tensor ids_b = from_vector(std::vector<int64_t>{3, 5, 19, 7, 0, 0, 4, 19}, {2, 4});  // row 0 changes after its end
  Tensor eot = from_vector(std::vector<int64_t>{2, 3});
  CHECK_CLOSE(causal.encode(ids_a, eot), causal.encode(ids_b, eot), 1e-6, 1e-6);
  Tensor fa = bidir.encode(ids_a, eot), fb = bidir.encode(ids_b, eot);
  CHECK(max(abs(fa.select(0, 0) - fb.select(0, 0))).item() > 1e-4);
  CHECK_CLOSE(fa.select(0, 1), fb.select(0, 1), 1e-6, 1e-6);  // row 1 did not change

  // A shorter input (L < context) is the prefix computation: the causal feature at the end token of a
  // row does not depend on how much padding follows it.
  Tensor short_ids = ids_a.slice(1, 0, 3).contiguous();
  Tensor f_short = causal.encode(short_ids.slice(0, 0, 1), from_vector(std::vector<int64_t>{2}));
  CHECK_CLOSE(f_short, causal.encode(ids_a, eot).slice(0, 0, 1), 1e-6, 1e-6);
  // i32 ids and eot give the same, and so do non-contiguous ids
  CHECK_CLOSE(causal.encode(ids_a.to(DType::i32), eot.to(DType::i32)), causal.encode(ids_a, eot), 0, 0);
  Tensor wide = zeros({2, 8}, DType::i64);
  wide.slice(1, 0, 8, 2).copy_(ids_a);
  CHECK_CLOSE(causal.encode(wide.slice(1, 0, 8, 2), eot), causal.encode(ids_a, eot), 0, 0);
  CHECK(causal.forward_tokens(ids_a).shape() == Shape{2, 4, 16});
}

TEST_CASE("text tower: input and config errors") {
  TextTransformer m(tiny());
  Tensor ids = zeros({2, 4}, DType::i64), eot = from_vector(std::vector<int64_t>{1, 3});
  CHECK_THROWS_WITH_SUBSTR(m.encode(zeros({2, 9}, DType::i64), eot), "context_length = 8");
  CHECK_THROWS_WITH_SUBSTR(m.encode(zeros({8}, DType::i64), eot), "expects ids [B, L]");
  CHECK_THROWS_WITH_SUBSTR(m.encode(zeros({2, 4}), eot), "ids must be i64 or i32");
  CHECK_THROWS_WITH_SUBSTR(m.encode(ids, from_vector(std::vector<int64_t>{1, 4})), "eot index 4 is outside [0, 4)");
  CHECK_THROWS_WITH_SUBSTR(m.encode(ids, from_vector(std::vector<int64_t>{-1, 0})), "outside");
  CHECK_THROWS_WITH_SUBSTR(m.encode(ids, from_vector(std::vector<int64_t>{1, 2, 3})), "eot must be [B] = [2]");
  CHECK_THROWS_WITH_SUBSTR(m.encode(ids, eot.to(DType::f32)), "eot must be i64 or i32");
  CHECK_THROWS(m.encode(full({2, 4}, 20, DType::i64), eot));  // id out of the vocabulary
  TextTransformerConfig bad = tiny();
  bad.vocab_size = 0;
  CHECK_THROWS_WITH_SUBSTR(TextTransformer{bad}, "vocab_size must be positive");
  bad = tiny();
  bad.heads = 3;
  CHECK_THROWS_WITH_SUBSTR(TextTransformer{bad}, "not divisible by 3 heads");
  // A checkpoint's `layers` 2^40 (issue 27) once built blocks until memory ran out.
  bad = tiny();
  bad.layers = int64_t(1) << 40;
  CHECK_THROWS_WITH_SUBSTR(TextTransformer{bad}, "TextTransformer: layers is 1099511627776; it must be in [1, 4096]");
  bad = tiny();
  bad.vocab_size = 1 << 24;
  bad.width = 1 << 12;
  CHECK_THROWS_WITH_SUBSTR(TextTransformer{bad}, "above the limit");
}
