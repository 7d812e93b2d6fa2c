// minivit: the arms and their models. Each arm is a MiniViT config (models/minivit.h): the teacher
// unshared, the students sharing --share consecutive layers with or without per-layer norms and
// transforms; configs round-trip through JSON (config.json, the weights' metadata) so written weights
// load back. Leaves out: the Mini-DeiT/Mini-Swin ImageNet configs (models/ has them for counts).
#include <algorithm>

#include "apps/minivit/minivit_app.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "io/safetensors.h"

namespace iris::minivit_app {

const std::vector<std::string> kArms = {"teacher", "shared", "shared-ln", "transform", "minivit", "logit-kd",
                                        "single-layer"};

bool is_distilled(const std::string& arm) { return arm == "minivit" || arm == "logit-kd" || arm == "single-layer"; }

void check_arm(const std::string& arm, const char* where) {
  IRIS_CHECK(std::find(kArms.begin(), kArms.end(), arm) != kArms.end(), "minivit ", where, ": unknown arm '", arm,
             "': use teacher, shared, shared-ln, transform, minivit, logit-kd or single-layer (see --help)");
}

namespace {

models::MlpTransform mlp_transform_from(const std::string& name) {
  if (name == "dwconv") return models::MlpTransform::dwconv;
  if (name == "relpos") return models::MlpTransform::relpos;
  if (name == "none") return models::MlpTransform::none;
  throw Error("minivit: unknown --mlp-transform '" + name + "': use dwconv, relpos or none");
}

std::string mlp_transform_name(models::MlpTransform t) {
  return t == models::MlpTransform::dwconv ? "dwconv" : t == models::MlpTransform::relpos ? "relpos" : "none";
}

}  // namespace

models::MiniVitConfig arm_config(const std::string& arm, const Flags& flags) {
  check_arm(arm, "train");
  models::MiniVitConfig c = models::MiniVitConfig::named("teacher-fmnist");  // plain: share 1, no transforms
  c.vit.drop_path_rate = flags.get_double("drop-path");
  if (arm == "teacher") {
    if (flags.get_int("teacher-depth") > 0) c.vit.depth = flags.get_int("teacher-depth");
    if (flags.get_int("teacher-dim") > 0) c.vit.embed_dim = flags.get_int("teacher-dim");
    return c;
  }
  c.share = arm == "single-layer" ? c.vit.depth : flags.get_int("share");
  IRIS_CHECK(c.vit.depth % c.share == 0, "minivit: --share ", c.share, " does not divide the depth ", c.vit.depth,
             "; use 1, 2, 3 or 6");
  c.per_layer_norm = arm != "shared";
  const bool transforms = arm != "shared" && arm != "shared-ln";
  c.attn_transform = transforms;
  c.transform_bias = flags.get_bool("transform-bias");
  c.mlp_transform = transforms ? mlp_transform_from(flags.get_string("mlp-transform")) : models::MlpTransform::none;
  c.dwconv_kernel = flags.get_int("dwconv-kernel");
  return c;
}

json::Value config_json(const models::MiniVitConfig& c) {
  json::Value v = json::Value::object();
  v["img_size"] = c.vit.img_size, v["patch_size"] = c.vit.patch_size, v["in_chans"] = c.vit.in_chans;
  v["num_classes"] = c.vit.num_classes, v["embed_dim"] = c.vit.embed_dim, v["depth"] = c.vit.depth;
  v["num_heads"] = c.vit.num_heads, v["mlp_ratio"] = c.vit.mlp_ratio, v["qkv_bias"] = c.vit.qkv_bias;
  v["drop_path_rate"] = c.vit.drop_path_rate, v["ln_eps"] = c.vit.ln_eps;
  v["share"] = c.share, v["per_layer_norm"] = c.per_layer_norm, v["attn_transform"] = c.attn_transform;
  v["transform_bias"] = c.transform_bias, v["mlp_transform"] = mlp_transform_name(c.mlp_transform);
  v["dwconv_kernel"] = c.dwconv_kernel;
  return v;
}

models::MiniVitConfig config_from_json(const json::Value& v) {
  models::MiniVitConfig c = models::MiniVitConfig::named("teacher-fmnist");
  c.vit.img_size = v["img_size"].as_int(), c.vit.patch_size = v["patch_size"].as_int();
  c.vit.in_chans = v["in_chans"].as_int(), c.vit.num_classes = v["num_classes"].as_int();
  c.vit.embed_dim = v["embed_dim"].as_int(), c.vit.depth = v["depth"].as_int();
  c.vit.num_heads = v["num_heads"].as_int(), c.vit.mlp_ratio = v["mlp_ratio"].as_number();
  c.vit.qkv_bias = v["qkv_bias"].as_bool(), c.vit.drop_path_rate = v["drop_path_rate"].as_number();
  c.vit.ln_eps = v["ln_eps"].as_number();
  c.share = v["share"].as_int(), c.per_layer_norm = v["per_layer_norm"].as_bool();
  c.attn_transform = v["attn_transform"].as_bool(), c.transform_bias = v["transform_bias"].as_bool();
  c.mlp_transform = mlp_transform_from(v["mlp_transform"].as_string());
  c.dwconv_kernel = v["dwconv_kernel"].as_int();
  return c;
}

std::unique_ptr<models::MiniVit> load_model(const std::string& path, const char* what) {
  SafetensorsFile file = load_safetensors(path);
  json::Value config;
  if (file.metadata.count("config")) config = file.metadata_json("config");
  else if (file.metadata.count("extra")) {
    json::Value extra = file.metadata_json("extra");
    if (extra.is_object() && extra.contains("config")) config = extra["config"];
  }
  IRIS_CHECK(config.is_object(), "minivit: ", what, " ", path, " has no MiniViT config in its metadata; use the "
             "weights.safetensors (or checkpoints/last.safetensors) that minivit train writes");
  models::MiniVitConfig cfg;
  try {
    cfg = config_from_json(config);
  } catch (const Error& e) {
    throw Error(cat_str("minivit: ", what, " ", path, ": its config is incomplete: ", e.what()));
  }
  std::unique_ptr<models::MiniVit> model;
  {
    nn::init::SkipInitGuard skip;  // every weight is loaded next
    model = std::make_unique<models::MiniVit>(cfg);
  }
  try {
    nn::load_weights(path, *model);
  } catch (const Error& e) {
    throw Error(cat_str("minivit: ", what, " ", path, ": the weights do not fit the config stored with them: ", e.what()));
  }
  return model;
}

}  // namespace iris::minivit_app
