// farl: the model's config as flags and JSON, and the pre-trained encoder file (weights.safetensors):
//   tensors   the Farl state dict with plain names (visual.*, text.*, logit_scale) and tokens.centroids
//   metadata  kind = farl-encoder, config (JSON, config_to_json), objective (itc | mim | itc+mim), mean / std
//             (JSON arrays), tokenizer (the file name of the sentencepiece model copied beside the weights)
// Leaves out: optimiser state (that is the run's checkpoint).
#include "apps/farl/farl.h"
#include "io/file_util.h"
#include "io/safetensors.h"

namespace iris::farl {

models::FarlConfig model_config(const Flags& flags, int64_t text_vocab) {
  models::FarlConfig c;
  c.width = flags.get_int("width");
  c.depth = flags.get_int("depth");
  c.heads = flags.get_int("heads");
  c.embed_dim = flags.get_int("embed-dim");
  c.vocab = flags.get_int("vocab");
  c.text.vocab_size = text_vocab;
  c.text.context_length = flags.get_int("context");
  c.text.width = flags.get_int("text-width");
  c.text.layers = flags.get_int("text-layers");
  c.text.heads = flags.get_int("text-heads");
  // the analog of blocks [3, 5, 7, 11] of 12: blocks 1, 2, 3, 5 of 6 (0-based), scaled for other depths
  c.feature_blocks.clear();
  for (int64_t b : {2, 3, 4, 6}) c.feature_blocks.push_back(std::max<int64_t>(0, (b * c.depth + 5) / 6 - 1));
  models::check_farl_config(c);
  return c;
}

json::Value config_to_json(const models::FarlConfig& c) {
  json::Value v = json::Value::object(), blocks = json::Value::array();
  v["img_size"] = c.img_size, v["patch"] = c.patch, v["in_chans"] = c.in_chans, v["width"] = c.width;
  v["depth"] = c.depth, v["heads"] = c.heads, v["mlp_ratio"] = c.mlp_ratio, v["embed_dim"] = c.embed_dim;
  v["mim_layers"] = c.mim_layers, v["vocab"] = c.vocab;
  for (int64_t b : c.feature_blocks) blocks.push_back(b);
  v["feature_blocks"] = blocks;
  v["text_vocab"] = c.text.vocab_size, v["context"] = c.text.context_length, v["text_width"] = c.text.width;
  v["text_layers"] = c.text.layers, v["text_heads"] = c.text.heads;
  return v;
}

models::FarlConfig config_from_json(const json::Value& v) {
  models::FarlConfig c;
  c.img_size = v["img_size"].as_int(), c.patch = v["patch"].as_int(), c.in_chans = v["in_chans"].as_int();
  c.width = v["width"].as_int(), c.depth = v["depth"].as_int(), c.heads = v["heads"].as_int();
  c.mlp_ratio = v["mlp_ratio"].as_number(), c.embed_dim = v["embed_dim"].as_int();
  c.mim_layers = v["mim_layers"].as_int(), c.vocab = v["vocab"].as_int();
  c.feature_blocks.clear();
  for (const json::Value& b : v["feature_blocks"].elements()) c.feature_blocks.push_back(b.as_int());
  c.text.vocab_size = v["text_vocab"].as_int(), c.text.context_length = v["context"].as_int();
  c.text.width = v["text_width"].as_int(), c.text.layers = v["text_layers"].as_int();
  c.text.heads = v["text_heads"].as_int();
  models::check_farl_config(c);
  return c;
}

namespace {
const char* kTokenizerFile = "tokenizer.model";

std::string json_array(const std::vector<double>& v) {
  json::Value a = json::Value::array();
  for (double x : v) a.push_back(x);
  return a.dump();
}
}  // namespace

void save_encoder(const std::string& path, const Pretrained& p, const std::string& objective,
                  const std::string& tokenizer_path) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [name, t] : p.model->state_dict()) tensors.push_back({name, t});
  tensors.push_back({"tokens.centroids", p.centroids});
  make_dirs(folder_of(path));
  write_file_atomic(folder_of(path) + "/" + kTokenizerFile, read_file(tokenizer_path));
  save_safetensors(path, tensors,
                   {{"kind", "farl-encoder"}, {"config", config_to_json(p.model->cfg).dump()}, {"objective", objective},
                    {"mean", json_array(kMean)}, {"std", json_array(kStd)}, {"tokenizer", kTokenizerFile}});
}

LoadedEncoder load_encoder(const std::string& path) {
  IRIS_CHECK(path_exists(path), "encoder file ", path, " does not exist; make one with `farl pretrain` (it writes "
             "<run>/weights.safetensors)");
  SafetensorsFile file = load_safetensors(path);
  auto kind = file.metadata.find("kind");
  IRIS_CHECK(kind != file.metadata.end() && kind->second == "farl-encoder" && file.metadata.count("config"), path,
             " is not a FaRL encoder (no kind = farl-encoder in its metadata); use the weights.safetensors "
             "`farl pretrain` writes");
  LoadedEncoder out;
  out.objective = file.metadata.count("objective") ? file.metadata.at("objective") : "";
  if (file.metadata.count("tokenizer")) {
    out.tokenizer_path = file_beside(path, file.metadata.at("tokenizer"), "metadata 'tokenizer'");
    IRIS_CHECK(path_exists(out.tokenizer_path), path, ": its tokenizer ", out.tokenizer_path,
               " is missing; copy it beside the weights (`farl pretrain` writes both)");
  }
  models::FarlConfig cfg;
  try {
    cfg = config_from_json(json::parse(file.metadata.at("config")));
  } catch (const Error& e) {
    throw Error(cat_str(path, ": its config is malformed: ", e.what()));
  }
  out.model = std::make_shared<models::Farl>(cfg);
  nn::NamedTensors state;
  for (auto& [name, t] : file.tensors)
    if (name == "tokens.centroids") out.centroids = t;
    else state.push_back({name, t});
  try {
    out.model->load_state_dict(state);
  } catch (const Error& e) {
    throw Error(cat_str(path, ": these weights do not fit the config stored with them: ", e.what()));
  }
  out.model->eval();
  return out;
}

}  // namespace iris::farl
