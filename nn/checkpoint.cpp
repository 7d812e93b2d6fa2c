// Checkpoints: model + optimiser + training state in one safetensors file (see checkpoint.h).
#include "nn/checkpoint.h"

#include "io/safetensors.h"

namespace iris::nn {

namespace {

constexpr const char* kFormat = "iris-checkpoint-1";
const std::string kModel = "model.", kOptim = "optim.";

int64_t meta_int(const SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  IRIS_CHECK(it != f.metadata.end(), f.path, ": checkpoint metadata lacks '", key, "'");
  try {
    size_t used = 0;
    long long v = std::stoll(it->second, &used);
    IRIS_CHECK(used == it->second.size(), "trailing characters");
    return v;
  } catch (const std::exception&) {
    throw Error(cat_str(f.path, ": checkpoint metadata '", key, "' is not an integer: '", it->second, "'"));
  }
}

NamedTensors with_prefix(const SafetensorsFile& f, const std::string& prefix) {
  NamedTensors out;
  for (auto& [k, v] : f.tensors)
    if (k.compare(0, prefix.size(), prefix) == 0) out.push_back({k.substr(prefix.size()), v});
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optimizer, TrainState state) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [k, v] : model.state_dict()) tensors.push_back({kModel + k, v});
  if (optimizer)
    for (auto& [k, v] : optimizer->state_dict()) tensors.push_back({kOptim + k, v});
  Generator& g = default_generator();
  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"epoch", std::to_string(state.epoch)},
      {"step", std::to_string(state.step)},
      {"epoch_step", std::to_string(state.epoch_step)},
      {"rng_seed", std::to_string(g.seed())},
      {"rng_offset", std::to_string(g.offset())},
      {"extra", state.extra.dump()},
  };
  save_safetensors(path, tensors, meta);
}

TrainState load_checkpoint(const std::string& path, Module& model, Optimizer* optimizer) {
  SafetensorsFile f = load_safetensors(path);
  auto fmt = f.metadata.find("format");
  IRIS_CHECK(fmt != f.metadata.end() && fmt->second == kFormat, path,
             ": not an iris training checkpoint (no format=", kFormat,
             " in its metadata); to load plain weights use --weights / load_weights");
  try {
    model.load_state_dict(with_prefix(f, kModel));
  } catch (const Error& e) {
    throw Error(cat_str(path, ": the checkpoint's model does not match this model (different config?): ", e.what()));
  }
  if (optimizer) {
    NamedTensors opt = with_prefix(f, kOptim);
    IRIS_CHECK(!opt.empty(), path, ": the checkpoint holds no optimizer state");
    optimizer->load_state_dict(opt);
  }
  TrainState s;
  // Counters are never negative; a negative one (a hand-edited or damaged file) once trained
  // "epoch -4/3" or replayed random numbers from a wrapped-around offset.
  auto counter = [&](const char* key) {
    const int64_t v = meta_int(f, key);
    IRIS_CHECK(v >= 0, path, ": checkpoint metadata '", key, "' is ", v, "; it must be >= 0");
    return v;
  };
  s.epoch = counter("epoch");
  s.step = counter("step");
  s.epoch_step = counter("epoch_step");
  s.rng_seed = static_cast<uint64_t>(meta_int(f, "rng_seed"));
  s.rng_offset = static_cast<uint64_t>(counter("rng_offset"));
  auto extra = f.metadata.find("extra");
  if (extra != f.metadata.end()) s.extra = f.metadata_json("extra");
  default_generator().set_state(s.rng_seed, s.rng_offset);
  return s;
}

void load_weights(const std::string& path, Module& model, bool strict) {
  SafetensorsFile f = load_safetensors(path);
  NamedTensors prefixed = with_prefix(f, kModel);
  const NamedTensors& weights = prefixed.empty() ? f.tensors : prefixed;
  try {
    model.load_state_dict(weights, strict);
  } catch (const Error& e) {
    throw Error(cat_str(path, ": these weights do not fit the model (check --config): ", e.what()));
  }
}

void save_weights(const std::string& path, const Module& model, const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, model.state_dict(), metadata);
}

}  // namespace iris::nn
