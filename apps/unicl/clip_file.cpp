// unicl: the weight file of a trained dual encoder, the format other apps load as their frozen "CLIP"
// teacher (`unicl train --export-clip` writes runs/clip/clip.safetensors):
//   tensors   the DualEncoder state dict under its own names (visual.*, image_projection.weight, text.*,
//             logit_scale), plus head.weight / head.bias for a cross-entropy model
//   metadata  format "iris-unicl-1", config (JSON, config_to_json), data (fmnist | shapes), loss, mix,
//             mean / std (JSON arrays: the per-channel normalisation the pictures need), tokenizer (the
//             sentencepiece model's file name, a copy written beside the weights)
// Leaves out: optimiser state (runs are short; there is no resume).
#include "apps/unicl/unicl.h"
#include "io/file_util.h"
#include "io/safetensors.h"

namespace iris::unicl {

json::Value config_to_json(const models::DualEncoderConfig& c) {
  json::Value t = json::Value::object();
  t["vocab_size"] = c.text.vocab_size, t["context_length"] = c.text.context_length, t["width"] = c.text.width;
  t["layers"] = c.text.layers, t["heads"] = c.text.heads, t["embed_dim"] = c.text.embed_dim;
  t["causal"] = c.text.causal, t["quick_gelu"] = c.text.quick_gelu, t["ln_eps"] = c.text.ln_eps;
  t["mlp_ratio"] = c.text.mlp_ratio;
  json::Value v = json::Value::object();
  v["image"] = c.image, v["img_size"] = c.img_size, v["in_chans"] = c.in_chans, v["embed_dim"] = c.embed_dim;
  v["init_logit_scale"] = c.init_logit_scale, v["max_logit_scale"] = c.max_logit_scale;
  v["text"] = t;
  return v;
}

models::DualEncoderConfig config_from_json(const json::Value& v) {
  models::DualEncoderConfig c;
  c.image = v["image"].as_string();
  c.img_size = v["img_size"].as_int(), c.in_chans = v["in_chans"].as_int(), c.embed_dim = v["embed_dim"].as_int();
  c.init_logit_scale = v["init_logit_scale"].as_number(), c.max_logit_scale = v["max_logit_scale"].as_number();
  const json::Value& t = v["text"];
  c.text.vocab_size = t["vocab_size"].as_int(), c.text.context_length = t["context_length"].as_int();
  c.text.width = t["width"].as_int(), c.text.layers = t["layers"].as_int(), c.text.heads = t["heads"].as_int();
  c.text.embed_dim = t["embed_dim"].as_int(), c.text.causal = t["causal"].as_bool();
  c.text.quick_gelu = t["quick_gelu"].as_bool(), c.text.ln_eps = t["ln_eps"].as_number();
  c.text.mlp_ratio = t["mlp_ratio"].as_number();
  return c;
}

namespace {
json::Value numbers(const std::vector<double>& v) {
  json::Value a = json::Value::array();
  for (double x : v) a.push_back(x);
  return a;
}
}  // namespace

void save_model_file(const std::string& path, const Trained& t, const Testbed& bed, const std::string& tokenizer_path) {
  make_dirs(folder_of(path));
  nn::NamedTensors tensors;
  for (auto& [name, value] : t.model->state_dict()) tensors.push_back({name, value.cpu()});
  if (t.head)
    tensors.push_back({"head.weight", t.head->weight.cpu()}), tensors.push_back({"head.bias", t.head->bias.cpu()});
  // the tokenizer travels with the weights: its ids are the embedding rows
  const std::string tokenizer_file = "tokenizer.model";
  write_file_atomic(folder_of(path) + "/" + tokenizer_file, read_file(tokenizer_path));
  std::map<std::string, std::string> meta = {
      {"format", "iris-unicl-1"}, {"config", config_to_json(t.model->cfg).dump()}, {"data", bed.data},
      {"loss", t.loss},           {"mix", t.mix},                                  {"tokenizer", tokenizer_file},
      {"mean", numbers(bed.mean).dump()}, {"std", numbers(bed.std).dump()}};
  save_safetensors(path, tensors, meta);
}

LoadedModel load_model_file(const std::string& path, Device device) {
  IRIS_CHECK(!path.empty(), "give the weights with --weights FILE.safetensors (from unicl train, or runs/clip/clip.safetensors)");
  IRIS_CHECK(path_exists(path), "weights file ", path, " does not exist; train one with `unicl train` (it writes "
             "<run>/weights.safetensors) or `unicl train --export-clip`");
  SafetensorsFile file = load_safetensors(path);
  IRIS_CHECK(file.metadata.count("config") && file.metadata.count("data"), path,
             " has no unicl config in its metadata; use a weights.safetensors written by unicl train");
  LoadedModel out;
  out.data = file.metadata.at("data");
  for (const char* key : {"mean", "std"})
    if (file.metadata.count(key)) {
      json::Value a = file.metadata_json(key);
      for (size_t i = 0; i < a.size(); ++i) (key[0] == 'm' ? out.mean : out.std).push_back(a[i].as_number());
    }
  out.trained.loss = file.metadata.count("loss") ? file.metadata.at("loss") : "unicl";
  out.trained.mix = file.metadata.count("mix") ? file.metadata.at("mix") : "label";
  const std::string tok_name =
      file.metadata.count("tokenizer") ? file.metadata.at("tokenizer") : std::string("tokenizer.model");
  // beside the weights, never elsewhere: a name like "../../x" in a downloaded file is refused
  const std::string tok = file_beside(path, tok_name, "metadata 'tokenizer'");
  out.tokenizer = std::make_shared<text::Tokenizer>(tok);
  models::DualEncoderConfig cfg = config_from_json(file.metadata_json("config"));
  out.trained.model = std::make_shared<models::DualEncoder>(cfg);
  nn::NamedTensors model_part;
  Tensor head_w, head_b;
  for (auto& [name, value] : file.tensors) {
    if (name == "head.weight") head_w = value;
    else if (name == "head.bias") head_b = value;
    else model_part.push_back({name, value});
  }
  try {
    out.trained.model->load_state_dict(model_part);
  } catch (const Error& e) {
    throw Error(cat_str(path, ": these weights do not fit the config stored with them: ", e.what()));
  }
  if (head_w.defined() && head_b.defined()) {
    out.trained.head = std::make_shared<nn::Linear>(head_w.shape()[1], head_w.shape()[0]);
    out.trained.head->load_state_dict({{"weight", head_w}, {"bias", head_b}});
    out.trained.head->to(device);
    out.trained.head->eval();
  }
  out.trained.model->to(device);
  out.trained.model->eval();
  return out;
}

}  // namespace iris::unicl
