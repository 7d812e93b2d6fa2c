// vit: train, evaluate and demo a Vision Transformer (models/vit) on Fashion-MNIST.
//   vit train [--config vit-fmnist] [--epochs 30] ...   full training; run folder with curves,
//                                                       predictions, attention maps, checkpoints
//   vit eval --weights FILE.safetensors                 test accuracy of an iris checkpoint or of a
//                                                       state dict exported from timm (same config)
//   vit demo                                            a short training (about 2 minutes on 2 cores)
//                                                       of the 7x7-patch config, with pictures
// Leaves out: ImageNet-sized data (the DeiT configs exist for weight import and parameter counts).
#include <iostream>

#include "apps/common/classify.h"
#include "apps/common/flags.h"
#include "apps/common/run.h"
#include "data/augment.h"
#include "image/draw.h"
#include "data/idx.h"
#include "models/vit.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "io/safetensors.h"

using namespace iris;

namespace {

Flags make_flags() {
  Flags f("vit", "Vision Transformer (ViT/DeiT) on Fashion-MNIST",
          {{"train", "train a ViT and evaluate it on the test set"},
           {"eval", "evaluate weights (--weights FILE: an iris checkpoint or a timm state dict)"},
           {"demo", "a short training run (about 2 minutes on 2 cores) with pictures"}});
  f.add_string("config", "vit-fmnist", "model config: vit-fmnist, vit-fmnist-p7, deit-tiny, deit-small, deit-base", "NAME");
  f.add_string("weights", "", "weights to evaluate (eval)", "FILE");
  f.add_bool("class-token", true, "use a class token (else average pooling, timm global_pool='avg')");
  OptimizerFlagDefaults opt;
  opt.warmup_epochs = 2.0, opt.label_smoothing = 0.1, opt.drop_path = 0.1;
  opt.no_decay_on = "biases, norms and tokens";
  add_optimizer_flags(f, opt);
  f.add_bool("augment", true, "random crop (padding 2), horizontal flip and random erasing");
  f.add_int("train-subset", 0, "train on the first N training images only (0: all 60000)");
  f.add_int("workers", 0, "background data loader threads (0: batches are made between steps; on 2 cores a thread only competes with the compute)");
  f.add_int("log-every", 50, "a metrics.jsonl line every N steps");
  f.add_int("save-every", 0, "also checkpoint every N steps (0: every epoch only)");
  f.add_int("stop-after-steps", -1, "stop after N steps, checkpointing first (to test resume)");
  f.set_default("epochs", "30");
  f.set_default("batch-size", "128");
  f.set_default("lr", "0.001");
  f.set_default("data", data::fashion_mnist_dir());
  return f;
}

struct Data {
  std::shared_ptr<data::TensorDataset> train, test;
};

Data load_data(const Flags& flags, bool augment, int64_t train_subset, int64_t test_subset) {
  data::LabelledImages tr = data::load_fashion_mnist(flags.data_dir(), true);
  data::LabelledImages te = data::load_fashion_mnist(flags.data_dir(), false);
  if (train_subset > 0 && train_subset < tr.images.shape()[0]) {
    tr.images = tr.images.slice(0, 0, train_subset);
    tr.labels = tr.labels.slice(0, 0, train_subset);
  }
  if (test_subset > 0 && test_subset < te.images.shape()[0]) {
    te.images = te.images.slice(0, 0, test_subset);
    te.labels = te.labels.slice(0, 0, test_subset);
  }
  auto normalise = [](const Tensor& x, Generator&) { return data::normalize_channels(x, {data::kFashionMnistMean}, {data::kFashionMnistStd}); };
  auto train_tf = [augment](const Tensor& x, Generator& rng) {
    Tensor t = x;
    if (augment) {
      t = data::random_crop(t, 2, rng);
      t = data::random_horizontal_flip(t, rng);
    }
    t = data::normalize_channels(t, {data::kFashionMnistMean}, {data::kFashionMnistStd});
    if (augment) t = data::random_erasing(t, rng, 0.25);
    return t;
  };
  return {std::make_shared<data::TensorDataset>(tr.images, tr.labels, train_tf),
          std::make_shared<data::TensorDataset>(te.images, te.labels, normalise)};
}

models::VitConfig model_config(const Flags& flags) {
  models::VitConfig cfg = models::VitConfig::named(flags.get_string("config"));
  cfg.class_token = flags.get_bool("class-token");
  cfg.drop_path_rate = flags.get_double("drop-path");
  return cfg;
}

// The config stored with the weights (weights.safetensors metadata "config", or a checkpoint's
// "extra"), so `vit eval --weights FILE` needs no --config; false when the file has none.
bool config_from_file(const SafetensorsFile& f, models::VitConfig& cfg) {
  json::Value c;
  if (f.metadata.count("config")) c = f.metadata_json("config");
  else if (f.metadata.count("extra")) {
    json::Value extra = f.metadata_json("extra");
    if (extra.is_object() && extra.contains("config")) c = extra["config"];
  }
  if (!c.is_object()) return false;
  auto num = [&](const char* k, int64_t& field) {
    if (c.contains(k)) field = c[k].as_int();
  };
  num("img_size", cfg.img_size), num("patch_size", cfg.patch_size), num("in_chans", cfg.in_chans);
  num("num_classes", cfg.num_classes), num("embed_dim", cfg.embed_dim), num("depth", cfg.depth);
  num("num_heads", cfg.num_heads);
  if (c.contains("class_token")) cfg.class_token = c["class_token"].as_bool();
  return true;
}

json::Value config_json(const models::VitConfig& c) {
  json::Value v = json::Value::object();
  v["img_size"] = c.img_size, v["patch_size"] = c.patch_size, v["in_chans"] = c.in_chans;
  v["num_classes"] = c.num_classes, v["embed_dim"] = c.embed_dim, v["depth"] = c.depth;
  v["num_heads"] = c.num_heads, v["class_token"] = c.class_token, v["drop_path_rate"] = c.drop_path_rate;
  return v;
}

// Test images with the last block's attention (mean over heads) laid over them as a heat map.
void save_attention_grid(const std::string& path, models::VisionTransformer& model, const data::Dataset& test,
                         const std::vector<std::string>& names) {
  const int n = static_cast<int>(std::min<int64_t>(16, test.size()));
  std::vector<int64_t> idx(n);
  for (int i = 0; i < n; ++i) idx[i] = i * (test.size() / n);
  Generator unused(0);
  data::Batch b = test.get_batch(idx, unused);
  Device device = model.parameters().front().device();  // the maps come back to the CPU for drawing
  Tensor maps = mean(model.last_attention_map(b.x.to(device)).to(Device::cpu()), {1}, true);  // [n, 1, h, w]
  Tensor up = interpolate(maps, Size2{112, 112}, InterpMode::bilinear);
  std::vector<GridCell> cells;
  for (int i = 0; i < n; ++i) {
    Tensor img = interpolate(b.x.narrow(0, i, 1), Size2{112, 112}, InterpMode::bilinear).select(0, 0);
    Tensor m = up.select(0, i).select(0, 0);
    double lo = min(img).item(), hi = max(img).item();
    Tensor g = (img.select(0, 0) - lo) / (hi - lo + 1e-9);
    double mlo = min(m).item(), mhi = max(m).item();
    Tensor heat = (m - mlo) / (mhi - mlo + 1e-9);
    // grey image in green/blue, attention in red
    Tensor rgb = stack({clamp(heat * 0.8 + g * 0.4, 0.0, 1.0), g * 0.8, g * 0.8}, 0);
    cells.push_back(GridCell{tensor_to_image(rgb), names[b.y.to_vector<int64_t>()[i]]});
  }
  GridOptions go;
  go.columns = 8;
  go.title = "last-block attention (red) from the class token";
  save_png(path, make_image_grid(cells, go));
}

int run_train(const Flags& flags, bool demo) {
  bool quick = flags.quick();
  int64_t subset = flags.get_int("train-subset");
  ClassifyOptions o = classify_options(flags);
  int64_t test_subset = 0;
  bool augment = flags.get_bool("augment");
  if (demo) {  // under 2 minutes on 2 cores: the 7x7-patch model, two epochs over 44,000 images
    if (!flags.is_set("epochs")) o.epochs = 2;
    if (!flags.is_set("train-subset")) subset = 44000;
    if (!flags.is_set("batch-size")) o.batch_size = 64;
    if (!flags.is_set("lr")) o.lr = 2e-3;
    if (!flags.is_set("warmup")) o.warmup_epochs = 0.3;
    // regularisers help long runs and slow short ones: off unless asked for
    if (!flags.is_set("augment")) augment = false;
    if (!flags.is_set("label-smoothing")) o.label_smoothing = 0.0;
  }
  if (quick) {  // seconds: a smoke test of the whole pipeline
    if (!flags.is_set("epochs")) o.epochs = 2;
    subset = 256;
    test_subset = 256;
    if (!flags.is_set("batch-size")) o.batch_size = 32;
    if (!flags.is_set("log-every")) o.log_every = 1;
    if (!flags.is_set("warmup")) o.warmup_epochs = 0.5;
  }
  Data d = load_data(flags, augment, subset, test_subset);
  models::VitConfig cfg = model_config(flags);
  if (demo && !flags.is_set("config")) cfg.patch_size = models::VitConfig::named("vit-fmnist-p7").patch_size;
  if (demo && !flags.is_set("drop-path")) cfg.drop_path_rate = 0.0;
  IRIS_CHECK(cfg.img_size == 28 && cfg.in_chans == 1 && cfg.num_classes == 10, "vit ", flags.command(),
             ": config '", flags.get_string("config"), "' is not a Fashion-MNIST model (28x28, 1 channel, 10 "
             "classes); use vit-fmnist");
  models::VisionTransformer model(cfg);

  Run run(flags);
  run.set_config("model", config_json(cfg));
  o.checkpoint_extra["config"] = config_json(cfg);
  std::cerr << "vit: " << model.parameter_count() << " parameters, " << d.train->size() << " training images, "
            << o.epochs << " epochs, run folder " << run.dir() << "\n";
  ClassifyResult r = train_classifier(model, d.train, d.test, o, run, data::fashion_mnist_classes());
  if (r.stopped_early) {
    std::cerr << "vit: stopped after " << r.steps << " steps; resume with --resume "
              << run.checkpoint_path("last.safetensors") << " --out " << run.dir() << "\n";
  } else {
    nn::save_weights(run.path("weights.safetensors"), model, {{"config", config_json(cfg).dump()}});
    save_attention_grid(run.path("attention.png"), model, *d.test, data::fashion_mnist_classes());
    std::cerr << "vit: test accuracy " << r.top1 << "%; pictures: " << run.path("curves.png") << ", "
              << run.path("predictions.png") << ", " << run.path("attention.png") << "\n";
  }
  json::Value m = json::Value::object();
  m["top1"] = r.top1;
  m["params"] = r.params;
  m["steps"] = r.steps;
  m["train_loss"] = r.final_train_loss;
  m["first_loss"] = r.step_losses.empty() ? 0.0 : r.step_losses.front();
  run.finish(m);
  return 0;
}

int run_eval(const Flags& flags) {
  std::string weights = flags.get_string("weights");
  if (weights.empty()) weights = flags.resume();
  IRIS_CHECK(!weights.empty(), "vit eval: give the weights with --weights FILE.safetensors");
  models::VitConfig cfg = model_config(flags);
  SafetensorsFile file = load_safetensors(weights);
  bool from_file = !flags.is_set("config") && !flags.is_set("class-token") && config_from_file(file, cfg);
  std::unique_ptr<models::VisionTransformer> model;
  {
    nn::init::SkipInitGuard skip;  // every weight is loaded next
    model = std::make_unique<models::VisionTransformer>(cfg);
  }
  nn::NamedTensors tensors;
  for (auto& [k, v] : file.tensors)
    if (k.rfind("model.", 0) == 0) tensors.push_back({k.substr(6), v});
  try {
    model->load_state_dict(tensors.empty() ? file.tensors : tensors);
  } catch (const Error& e) {
    throw Error(cat_str(weights, ": these weights do not fit the ", from_file ? "config stored with them" : "model",
                        " (", from_file ? "" : "check --config / --class-token", "): ", e.what()));
  }
  Data d = load_data(flags, false, 0, flags.quick() ? 256 : 0);
  Run run(flags);
  run.set_config("model", config_json(cfg));
  run.finish(evaluate_and_report("vit", *model, d.test, data::fashion_mnist_classes(), flags.batch_size(),
                                 flags.device(), run));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = make_flags();
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "train") return run_train(f, false);
    if (f.command() == "demo") return run_train(f, true);
    return run_eval(f);
  });
}
