// davit: DaViT's dual attention (models/davit) reproduced at small scale (papers/davit.md 2.4): the
// 32x32 miniature davit-pico on Fashion-MNIST padded to 32x32 and on the long-range corner probe
// (data/synth/probe.h), with the attention arms of the paper's ablation.
//   davit train [--arm dual] [--task fmnist|probe] ...    one run; run folder with curves, predictions,
//                                                         attention maps (attention.png), weights
//   davit eval --weights FILE                             test accuracy of weights written by train
//   davit ablate [--seeds 3] [--arms LIST] [--tasks LIST] every arm x task x seed on the same budget:
//                                                         ablation.md (mean +- std top-1, params, FLOPs),
//                                                         ablation.png, one JSON line with every arm
// Leaves out: ImageNet-sized data (the Tiny/Small/Base configs exist for weight import, counts, FLOPs).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/common/classify.h"
#include "apps/common/flags.h"
#include "apps/common/plot.h"
#include "apps/common/run.h"
#include "data/augment.h"
#include "data/draw.h"
#include "data/file_util.h"
#include "data/idx.h"
#include "data/synth/probe.h"
#include "models/davit.h"
#include "nn/checkpoint.h"
#include "nn/init.h"
#include "nn/safetensors.h"

using namespace iris;

namespace {

// Fashion-MNIST's pixel statistics (train split), for normalisation.
constexpr double kMean = 0.2860, kStd = 0.3530;

Flags make_flags() {
  Flags f("davit", "DaViT dual attention (spatial windows + channel groups) at small scale",
          {{"train", "train one attention arm on one task and evaluate it on the test set"},
           {"eval", "evaluate weights written by davit train (--weights FILE)"},
           {"ablate", "every arm on every task over several seeds with the same budget: table, chart, JSON"}});
  f.add_string("arm", "dual",
               "attention arm: spatial, channel, dual (spatial->channel, DaViT), dual-cs (channel->spatial), "
               "dual-nope (dual without ConvPosEnc)", "ARM");
  f.add_string("task", "fmnist", "fmnist (Fashion-MNIST padded to 32x32) or probe (two letters in opposite "
               "corners, see --probe-label)", "TASK");
  f.add_string("arms", "spatial,channel,dual,dual-cs,dual-nope", "ablate: the arms, comma-separated", "LIST");
  f.add_string("tasks", "fmnist,probe", "ablate: the tasks, comma-separated", "LIST");
  f.add_int("seeds", 3, "ablate: runs per arm and task, with seeds --seed, --seed+1, ...");
  f.add_string("weights", "", "weights to evaluate (eval)", "FILE");
  f.add_double("mlp-ratio", 4.0, "MLP hidden size / channels");
  f.add_double("weight-decay", 0.05, "AdamW weight decay (not on biases and norms)");
  f.add_double("warmup", 0.3, "linear warmup, in epochs", "EPOCHS");
  f.add_double("label-smoothing", 0.0, "label smoothing of the cross-entropy loss");
  f.add_double("drop-path", 0.05, "stochastic depth rate of the last block");
  f.add_double("clip-norm", 1.0, "clip gradients to this global norm (0: off)");
  f.add_bool("augment", true, "fmnist: random crop (padding 2) and horizontal flip");
  f.add_int("train-subset", 6000, "fmnist: train on the first N training images (0: all 60000)");
  f.add_int("test-subset", 0, "fmnist: evaluate on the first N test images (0: all 10000)");
  f.add_int("probe-train", 6000, "probe: training images");
  f.add_int("probe-test", 2000, "probe: test images");
  f.add_int("probe-glyphs", 4, "probe: how many distinct letters the pairs are drawn from (2..8)");
  f.add_int("probe-scale", 1, "probe: glyph size, image pixels per font pixel (1: 5x7 letters, 2: 10x14)");
  f.add_string("probe-label", "pair", "probe: pair (the ordered pair of letters, glyphs^2 classes) or same "
               "(same/different letter)", "LABEL");
  add_loop_flags(f);
  f.add_int("maps", 4, "test images in attention.png (0: no picture)");
  f.set_range("seeds", 1, 100);
  f.set_range("maps", 0, 16);
  f.set_range("probe-glyphs", 2, 8);
  f.set_range("probe-scale", 1, 2);
  // The defaults are the ablation's budget per run (about 36 minutes for all 30 runs on 2 cores).
  f.set_default("epochs", "2");
  f.set_default("batch-size", "32");
  f.set_default("lr", "0.002");
  f.set_default("data", data::fashion_mnist_dir());
  return f;
}

// ---- data -----------------------------------------------------------------------------------

struct TaskData {
  std::string task;
  std::shared_ptr<data::TensorDataset> train, test;
  std::vector<std::string> classes;
};

// The budget of one run, shared by train and by every run of ablate.
struct Budget {
  int64_t fmnist_train = 6000, fmnist_test = 0, probe_train = 6000, probe_test = 2000;
  int probe_glyphs = 4, probe_scale = 1;
  bool probe_pair = true;
  bool augment = true;
};

Budget budget_from(const Flags& flags, bool ablate = false) {
  Budget b;
  b.fmnist_train = flags.get_int("train-subset");
  b.fmnist_test = flags.get_int("test-subset");
  b.probe_train = flags.get_int("probe-train");
  b.probe_test = flags.get_int("probe-test");
  b.probe_glyphs = static_cast<int>(flags.get_int("probe-glyphs"));
  b.probe_scale = static_cast<int>(flags.get_int("probe-scale"));
  const std::string& label = flags.get_string("probe-label");
  IRIS_CHECK(label == "pair" || label == "same", "unknown --probe-label '", label, "': use pair or same");
  b.probe_pair = label == "pair";
  b.augment = flags.get_bool("augment");
  if (flags.quick()) {  // seconds: a smoke test of the whole pipeline (ablate: of every run in it)
    b.fmnist_train = b.probe_train = ablate ? 128 : 256;
    b.fmnist_test = b.probe_test = ablate ? 64 : 128;
  }
  return b;
}

TaskData load_task(const std::string& task, const Flags& flags, const Budget& bud) {
  TaskData d;
  d.task = task;
  if (task == "fmnist") {
    data::LabelledImages tr = data::load_fashion_mnist(flags.data_dir(), true);
    data::LabelledImages te = data::load_fashion_mnist(flags.data_dir(), false);
    auto cut = [](data::LabelledImages& s, int64_t n) {
      if (n > 0 && n < s.images.shape()[0]) s.images = s.images.slice(0, 0, n), s.labels = s.labels.slice(0, 0, n);
    };
    cut(tr, bud.fmnist_train);
    cut(te, bud.fmnist_test);
    // [B, 1, 28, 28] -> zero-padded to [B, 1, 32, 32] (whole windows, as the spec), then normalised
    auto test_tf = [](const Tensor& x, Generator&) {
      return data::normalize_channels(pad(x, {2, 2, 2, 2}), {kMean}, {kStd});
    };
    bool augment = bud.augment;
    auto train_tf = [augment](const Tensor& x, Generator& rng) {
      Tensor t = pad(x, {2, 2, 2, 2});
      if (augment) t = data::random_horizontal_flip(data::random_crop(t, 2, rng), rng);
      return data::normalize_channels(t, {kMean}, {kStd});
    };
    d.train = std::make_shared<data::TensorDataset>(tr.images, tr.labels, train_tf);
    d.test = std::make_shared<data::TensorDataset>(te.images, te.labels, test_tf);
    d.classes = data::fashion_mnist_classes();
  } else if (task == "probe") {
    synth::CornerProbeOptions po;
    po.glyphs = bud.probe_glyphs;
    po.pair_label = bud.probe_pair;
    po.scale = bud.probe_scale;
    po.jitter = bud.probe_scale == 1 ? 4 : 1;  // the letter stays inside its 16 x 16 quadrant
    // Different seeds for the two splits: no test image is a training image.
    data::LabelledImages tr = synth::make_corner_probe(bud.probe_train, 1001, po);
    data::LabelledImages te = synth::make_corner_probe(bud.probe_test, 2002, po);
    std::vector<double> px = tr.images.to_vector<double>();
    double m = 0, v = 0;
    for (double p : px) m += p / 255.0;
    m /= std::max<size_t>(1, px.size());
    for (double p : px) v += (p / 255.0 - m) * (p / 255.0 - m);
    double sd = std::sqrt(v / std::max<size_t>(1, px.size())) + 1e-6;
    auto tf = [m, sd](const Tensor& x, Generator&) { return data::normalize_channels(x, {m}, {sd}); };
    d.train = std::make_shared<data::TensorDataset>(tr.images, tr.labels, tf);
    d.test = std::make_shared<data::TensorDataset>(te.images, te.labels, tf);
    d.classes = synth::corner_probe_classes(po);
  } else {
    throw Error("unknown --task '" + task + "': use fmnist or probe");
  }
  return d;
}

// ---- model config as JSON (config.json, weights metadata) -------------------------------------

json::Value config_json(const models::DavitConfig& c) {
  auto arr = [](const std::vector<int64_t>& v) {
    json::Value a = json::Value::array();
    for (int64_t x : v) a.push_back(x);
    return a;
  };
  json::Value v = json::Value::object();
  v["arm"] = c.arm();
  v["img_size"] = c.img_size, v["in_chans"] = c.in_chans, v["num_classes"] = c.num_classes;
  v["embed_dims"] = arr(c.embed_dims), v["depths"] = arr(c.depths), v["num_heads"] = arr(c.num_heads);
  v["window_size"] = c.window_size, v["mlp_ratio"] = c.mlp_ratio, v["drop_path_rate"] = c.drop_path_rate;
  return v;
}

models::DavitConfig model_config(const std::string& arm, int64_t num_classes, const Flags& flags) {
  models::DavitConfig cfg = models::DavitConfig::named("davit-pico").with_arm(arm);
  cfg.num_classes = num_classes;
  cfg.mlp_ratio = flags.get_double("mlp-ratio");
  cfg.drop_path_rate = flags.get_double("drop-path");
  return cfg;
}

// ---- pictures -------------------------------------------------------------------------------

// Black -> red -> yellow -> white for t in [0, 1].
Color heat(double t) {
  t = std::min(1.0, std::max(0.0, t));
  auto c = [](double v) { return static_cast<uint8_t>(std::lround(255.0 * std::min(1.0, std::max(0.0, v)))); };
  return Color(c(3.0 * t), c(3.0 * t - 1.0), c(3.0 * t - 2.0));
}

// Spatial attention over the image: for every window, the attention each of its tokens receives
// (mean over heads and over the window's queries) relative to uniform attention (1/(w*w): the middle
// of the colour scale; twice that or more: white), over the grey image; window borders in cyan.
// spatial: [nh, nw, G, w*w, w*w] of one image; img: [1, H, W].
Image spatial_picture(const Tensor& spatial, const Tensor& img, int64_t window, int side) {
  const int64_t nh = spatial.shape()[0], nw = spatial.shape()[1];
  Tensor received = mean(spatial, {2, 3});  // [nh, nw, w*w], each window sums to 1
  std::vector<float> r = (received * (0.5 * window * window)).contiguous().to_vector<float>();
  const int64_t H = img.shape()[1], W = img.shape()[2];
  double lo = min(img).item(), hi = max(img).item();
  std::vector<float> g = ((img - lo) / (hi - lo + 1e-12)).contiguous().to_vector<float>();
  const int64_t tokens_h = nh * window, tokens_w = nw * window;  // padded token map
  Image out(side, side, 3, colors::black);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      int64_t ty = y * tokens_h / side, tx = x * tokens_w / side;
      int64_t py = y * H / side, px = x * W / side;
      double grey = g[py * W + px];
      double a = r[((ty / window) * nw + tx / window) * window * window + (ty % window) * window + tx % window];
      Color h = heat(a);
      auto mix = [&](uint8_t hc) { return static_cast<uint8_t>(std::lround(0.65 * hc + 0.35 * 255.0 * grey)); };
      out.at(y, x, 0) = mix(h.r), out.at(y, x, 1) = mix(h.g), out.at(y, x, 2) = mix(h.b);
    }
  for (int64_t i = 1; i < nh; ++i) draw_line(out, 0, static_cast<int>(i * side / nh), side - 1, static_cast<int>(i * side / nh), colors::cyan);
  for (int64_t j = 1; j < nw; ++j) draw_line(out, static_cast<int>(j * side / nw), 0, static_cast<int>(j * side / nw), side - 1, colors::cyan);
  return out;
}

// The channel-by-channel attention matrix [C, C] of one image: the G group matrices A [Cg, Cg] on the
// diagonal (channels attend only within their group; the rest is dark grey), rows = output channels.
Image channel_picture(const Tensor& channel, int side) {
  const int64_t G = channel.shape()[0], Cg = channel.shape()[1], C = G * Cg;
  std::vector<float> a = channel.contiguous().to_vector<float>();
  float peak = *std::max_element(a.begin(), a.end());
  Image out(side, side, 3, Color(40, 40, 40));
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      int64_t i = y * C / side, j = x * C / side;
      if (i / Cg != j / Cg) continue;
      int64_t g = i / Cg;
      double v = a[(g * Cg + i % Cg) * Cg + j % Cg] / (peak + 1e-12);
      Color h = heat(std::sqrt(v));  // sqrt: the small weights stay visible
      out.at(y, x, 0) = h.r, out.at(y, x, 1) = h.g, out.at(y, x, 2) = h.b;
    }
  for (int64_t g = 1; g < G; ++g) {
    int p = static_cast<int>(g * Cg * side / C);
    draw_line(out, p, 0, p, side - 1, colors::cyan);
    draw_line(out, 0, p, side - 1, p, colors::cyan);
  }
  return out;
}

// attention.png: for `count` test images, the image, its stage-1 spatial window attention and its
// stage-1 channel attention matrix.
void save_attention_picture(const std::string& path, models::DaVit& model, const data::Dataset& test,
                            const std::vector<std::string>& classes, int count, Device device) {
  const int n = static_cast<int>(std::min<int64_t>(count, test.size()));
  if (n <= 0) return;
  std::vector<int64_t> idx(n);
  for (int i = 0; i < n; ++i) idx[i] = i * (test.size() / n);
  Generator unused(0);
  data::Batch b = test.get_batch(idx, unused);
  models::DavitAttentionMaps maps = model.attention_maps(b.x.to(device), 0);
  if (maps.spatial.defined()) maps.spatial = maps.spatial.cpu();
  if (maps.channel.defined()) maps.channel = maps.channel.cpu();
  std::vector<int64_t> labels = b.y.to_vector<int64_t>();
  const int side = 160;
  std::vector<GridCell> cells;
  for (int i = 0; i < n; ++i) {
    Tensor img = b.x.select(0, i);  // [1, 32, 32]
    double lo = min(img).item(), hi = max(img).item();
    cells.push_back(GridCell{resize(tensor_to_image((img - lo) / (hi - lo + 1e-12)), side, side), classes[labels[i]]});
    if (maps.spatial.defined())
      cells.push_back(GridCell{spatial_picture(maps.spatial.select(0, i), img, maps.window, side),
                               "attention received"});
    else
      cells.push_back(GridCell{Image(side, side, 3, colors::light_gray), "(no spatial block)"});
    if (maps.channel.defined()) {
      int64_t G = maps.channel.shape()[1], C = G * maps.channel.shape()[2];
      cells.push_back(GridCell{channel_picture(maps.channel.select(0, i), side),
                               "channels " + std::to_string(C) + "x" + std::to_string(C) + ", " + std::to_string(G) + " groups"});
    } else {
      cells.push_back(GridCell{Image(side, side, 3, colors::light_gray), "(no channel block)"});
    }
  }
  GridOptions go;
  go.columns = 3;
  go.cell_width = side;
  go.title = "stage-1 attention, arm " + model.cfg.arm();
  save_png(path, make_image_grid(cells, go));
}

// A grouped bar chart with error bars: one group per task, one bar per arm (mean +- std).
Image render_bar_chart(const std::string& title, const std::vector<std::string>& groups,
                       const std::vector<std::string>& bars, const std::vector<std::vector<double>>& mean,
                       const std::vector<std::vector<double>>& err, const std::string& y_label) {
  const int width = 860, height = 460, left = 70, right = 20, top = 50, bottom = 60;
  Image im(height, width, 3, colors::white);
  double lo = 100, hi = 0;
  for (size_t g = 0; g < groups.size(); ++g)
    for (size_t k = 0; k < bars.size(); ++k)
      if (std::isfinite(mean[g][k])) lo = std::min(lo, mean[g][k] - err[g][k]), hi = std::max(hi, mean[g][k] + err[g][k]);
  if (lo > hi) lo = 0, hi = 100;
  lo = std::max(0.0, lo - 0.15 * (hi - lo + 1.0));
  hi = std::min(100.0, hi + 0.1 * (hi - lo + 1.0));
  std::vector<double> ticks = nice_ticks(lo, hi, 6);
  double step = nice_step(lo, hi, 6);
  lo = std::min(lo, ticks.front()), hi = std::max(hi, ticks.back());
  const int plot_w = width - left - right, plot_h = height - top - bottom;
  auto y_of = [&](double v) { return top + static_cast<int>(std::lround((hi - v) / (hi - lo) * plot_h)); };
  draw_text(im, left, 12, title, colors::black, font::text_width(title, 2) <= width - left - 4 ? 2 : 1);
  for (double t : ticks) {
    int y = y_of(t);
    draw_line(im, left, y, left + plot_w, y, colors::light_gray);
    std::string s = format_tick(t, step);
    draw_text(im, left - 6 - font::text_width(s), y - 4, s, colors::black);
  }
  draw_text(im, 4, top - 16, y_label, colors::black);
  draw_rect(im, left, top, plot_w + 1, plot_h + 1, colors::black);
  const double group_w = static_cast<double>(plot_w) / std::max<size_t>(1, groups.size());
  const int bar_w = static_cast<int>(group_w * 0.8 / std::max<size_t>(1, bars.size()));
  for (size_t g = 0; g < groups.size(); ++g) {
    int gx = left + static_cast<int>(g * group_w + group_w * 0.1);
    draw_text(im, left + static_cast<int>(g * group_w + group_w / 2) - font::text_width(groups[g]) / 2,
              top + plot_h + 8, groups[g], colors::black);
    for (size_t k = 0; k < bars.size(); ++k) {
      if (!std::isfinite(mean[g][k])) continue;
      int x = gx + static_cast<int>(k) * bar_w, y = y_of(mean[g][k]);
      fill_rect(im, x + 2, y, bar_w - 4, top + plot_h - y, colors::palette(static_cast<int>(k)));
      int cx = x + bar_w / 2, y0 = y_of(mean[g][k] - err[g][k]), y1 = y_of(mean[g][k] + err[g][k]);
      draw_line(im, cx, y0, cx, y1, colors::black);
      draw_line(im, cx - 4, y0, cx + 4, y0, colors::black);
      draw_line(im, cx - 4, y1, cx + 4, y1, colors::black);
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", mean[g][k]);
      draw_text(im, cx - font::text_width(buf) / 2, y1 - 12, buf, colors::black);
    }
  }
  int lx = left + 8;  // legend under the axis labels
  for (size_t k = 0; k < bars.size(); ++k) {
    fill_rect(im, lx, height - 22, 12, 10, colors::palette(static_cast<int>(k)));
    draw_text(im, lx + 16, height - 22, bars[k], colors::black);
    lx += 16 + font::text_width(bars[k]) + 18;
  }
  return im;
}

// ---- one training run -------------------------------------------------------------------------

struct RunResult {
  ClassifyResult r;
  int64_t params = 0, macs = 0;
  double seconds = 0;
  std::vector<json::Value> records;
};

ClassifyOptions train_options(const Flags& flags, uint64_t seed, int64_t train_size, bool ablate) {
  ClassifyOptions o = classify_options(flags);
  o.seed = seed;
  if (flags.quick()) {
    if (!flags.is_set("epochs")) o.epochs = ablate ? 1 : 2;
    if (!flags.is_set("batch-size")) o.batch_size = 32;
    if (!flags.is_set("log-every")) o.log_every = 1;
    o.warmup_epochs = 0.5;
  }
  // never more than one batch bigger than the data (tiny --quick sets)
  o.batch_size = std::min<int64_t>(o.batch_size, std::max<int64_t>(1, train_size));
  return o;
}

RunResult train_one(const Flags& flags, const TaskData& d, const std::string& arm, uint64_t seed, Run& run,
                    bool pictures, bool ablate) {
  models::DavitConfig cfg = model_config(arm, static_cast<int64_t>(d.classes.size()), flags);
  Generator init_gen(seed);
  models::DaVit model(cfg, &init_gen);
  ClassifyOptions o = train_options(flags, seed, d.train->size(), ablate);
  o.pictures = pictures;
  o.checkpoint_extra["config"] = config_json(cfg);
  o.checkpoint_extra["task"] = d.task;
  run.set_config("model", config_json(cfg));
  run.set_config("task", d.task);
  RunResult out;
  out.params = model.parameter_count();
  out.macs = models::davit_macs(cfg);
  std::cerr << "davit: " << d.task << ", arm " << arm << ", seed " << seed << ": " << out.params << " parameters, "
            << out.macs / 1e6 << " M multiply-adds per image, " << d.train->size() << " training images, " << o.epochs
            << " epochs, run folder " << run.dir() << "\n";
  out.r = train_classifier(model, d.train, d.test, o, run, d.classes);
  out.seconds = run.seconds();
  out.records = run.records();
  if (!out.r.stopped_early) {
    nn::save_weights(run.path("weights.safetensors"), model,
                     {{"config", config_json(cfg).dump()}, {"task", d.task}, {"probe_label", flags.get_string("probe-label")},
                      {"probe_glyphs", std::to_string(flags.get_int("probe-glyphs"))},
                      {"probe_scale", std::to_string(flags.get_int("probe-scale"))}});
    if (pictures && flags.get_int("maps") > 0)
      save_attention_picture(run.path("attention.png"), model, *d.test, d.classes, static_cast<int>(flags.get_int("maps")),
                             o.device);
  }
  return out;
}

int run_train(const Flags& flags) {
  const std::string arm = flags.get_string("arm");
  models::DavitConfig::named("davit-pico").with_arm(arm);  // an unknown arm fails before loading data
  TaskData d = load_task(flags.get_string("task"), flags, budget_from(flags));
  Run run(flags);
  RunResult res = train_one(flags, d, arm, flags.seed(), run, true, false);
  if (res.r.stopped_early)
    std::cerr << "davit: stopped after " << res.r.steps << " steps; resume with --resume "
              << run.checkpoint_path("last.safetensors") << " --out " << run.dir() << "\n";
  else
    std::cerr << "davit: test accuracy " << res.r.top1 << "%; pictures: " << run.path("curves.png") << ", "
              << run.path("predictions.png") << ", " << run.path("attention.png") << "\n";
  json::Value m = json::Value::object();
  m["top1"] = res.r.top1;
  m["params"] = res.params;
  m["flops"] = res.macs;
  m["steps"] = res.r.steps;
  m["train_loss"] = res.r.final_train_loss;
  m["first_loss"] = res.r.step_losses.empty() ? 0.0 : res.r.step_losses.front();
  run.finish(m);
  return 0;
}

int run_eval(const Flags& flags) {
  std::string weights = flags.get_string("weights");
  IRIS_CHECK(!weights.empty(), "davit eval: give the weights with --weights FILE.safetensors (from davit train)");
  SafetensorsFile file = load_safetensors(weights);
  IRIS_CHECK(file.metadata.count("config"), "davit eval: ", weights,
             " has no DaViT config in its metadata; use the weights.safetensors that davit train writes");
  json::Value c = json::parse(file.metadata.at("config"));
  std::string task = file.metadata.count("task") ? file.metadata.at("task") : flags.get_string("task");
  Budget bud = budget_from(flags);  // the probe as it was trained
  if (file.metadata.count("probe_label")) bud.probe_pair = file.metadata.at("probe_label") == "pair";
  if (file.metadata.count("probe_glyphs")) bud.probe_glyphs = std::stoi(file.metadata.at("probe_glyphs"));
  if (file.metadata.count("probe_scale")) bud.probe_scale = std::stoi(file.metadata.at("probe_scale"));
  TaskData d = load_task(task, flags, bud);
  models::DavitConfig cfg = model_config(c["arm"].as_string(), c["num_classes"].as_int(), flags);
  cfg.mlp_ratio = c["mlp_ratio"].as_number();
  std::unique_ptr<models::DaVit> model;
  {
    nn::init::SkipInitGuard skip;  // every weight is loaded next
    model = std::make_unique<models::DaVit>(cfg);
  }
  try {
    model->load_state_dict(file.tensors);
  } catch (const Error& e) {
    throw Error(cat_str(weights, ": these weights do not fit the config stored with them: ", e.what()));
  }
  Run run(flags);
  run.set_config("model", config_json(cfg));
  json::Value m = evaluate_and_report("davit", *model, d.test, d.classes, flags.batch_size(), flags.device(), run, task);
  m["flops"] = models::davit_macs(cfg);
  run.finish(m);
  return 0;
}

// ---- ablate ---------------------------------------------------------------------------------

int run_ablate(const Flags& flags) {
  std::vector<std::string> arms = split_list(flags.get_string("arms")), tasks = split_list(flags.get_string("tasks"));
  IRIS_CHECK(!arms.empty() && !tasks.empty(), "davit ablate: --arms and --tasks must name at least one each");
  for (const std::string& a : arms) models::DavitConfig::named("davit-pico").with_arm(a);  // fail early
  for (const std::string& t : tasks)
    IRIS_CHECK(t == "fmnist" || t == "probe", "davit ablate: unknown task '", t, "' in --tasks: use fmnist and/or probe");
  IRIS_CHECK(flags.resume().empty(), "davit ablate: --resume applies to davit train only");
  const int seeds = flags.quick() && !flags.is_set("seeds") ? 2 : static_cast<int>(flags.get_int("seeds"));
  Budget bud = budget_from(flags, true);
  Run run(flags);
  json::Value arms_json = json::Value::object();
  std::vector<std::vector<double>> means(tasks.size(), std::vector<double>(arms.size(), NAN)),
      stds(tasks.size(), std::vector<double>(arms.size(), 0.0));
  std::vector<LinePlot> curves;
  std::ostringstream table;
  table << "| task | arm | top-1 % (mean ± std, " << seeds << " seeds) | params | FLOPs (multiply-adds) | seconds per run |\n"
        << "|---|---|---|---|---|---|\n";
  for (size_t ti = 0; ti < tasks.size(); ++ti) {
    TaskData d = load_task(tasks[ti], flags, bud);
    LinePlot curve;
    curve.title = tasks[ti] + ": test top-1 by epoch (mean over seeds)";
    curve.x_label = "epoch";
    curve.y_label = "top-1 %";
    for (size_t ai = 0; ai < arms.size(); ++ai) {
      std::vector<double> top1;
      std::map<double, std::pair<double, int>> by_epoch;  // epoch -> (sum of top1, count)
      int64_t params = 0, macs = 0;
      double seconds = 0;
      for (int s = 0; s < seeds; ++s) {
        uint64_t seed = flags.seed() + static_cast<uint64_t>(s);
        Run sub("davit", "train", run.path(tasks[ti] + "-" + arms[ai] + "-seed" + std::to_string(seed)));
        RunResult r = train_one(flags, d, arms[ai], seed, sub, s == 0, true);  // pictures for the first seed
        json::Value line = json::Value::object();
        line["top1"] = r.r.top1;
        line["params"] = r.params;
        line["seconds"] = r.seconds;
        // the run's own result.json, without a line on stdout (that is for the ablation's line)
        write_file_atomic(sub.path("result.json"), final_json_line("davit", "train", line) + "\n");
        top1.push_back(r.r.top1);
        params = r.params, macs = r.macs;
        seconds += r.seconds;
        for (const json::Value& rec : r.records)
          if (rec.contains("top1") && rec.contains("epoch")) {
            auto& acc = by_epoch[rec["epoch"].as_number()];
            acc.first += rec["top1"].as_number(), acc.second += 1;
          }
      }
      double m = 0, v = 0;
      for (double t : top1) m += t / top1.size();
      for (double t : top1) v += (t - m) * (t - m);
      double sd = top1.size() > 1 ? std::sqrt(v / (top1.size() - 1)) : 0.0;  // sample std
      means[ti][ai] = m, stds[ti][ai] = sd;
      PlotSeries series;
      series.label = arms[ai];
      series.color = colors::palette(static_cast<int>(ai));
      for (auto& [e, acc] : by_epoch) series.x.push_back(e), series.y.push_back(acc.first / acc.second);
      curve.series.push_back(series);
      json::Value a = json::Value::object();
      a["top1"] = m;
      a["top1_std"] = sd;
      a["params"] = params;
      a["flops"] = macs;
      json::Value runs = json::Value::array();
      for (double t : top1) runs.push_back(t);
      a["runs"] = runs;
      a["seconds"] = seconds;
      arms_json[(tasks[ti] == "fmnist" ? "" : tasks[ti] + "-") + arms[ai]] = a;
      char row[256];
      std::snprintf(row, sizeof row, "| %s | %s | %.2f ± %.2f | %lld | %.1fM | %.0f |\n", tasks[ti].c_str(),
                    arms[ai].c_str(), m, sd, static_cast<long long>(params), macs / 1e6, seconds / seeds);
      table << row;
      std::cerr << "davit ablate: " << tasks[ti] << " " << arms[ai] << ": top-1 " << m << " +- " << sd << "\n";
    }
    curves.push_back(curve);
  }
  ClassifyOptions used = train_options(flags, 0, INT64_MAX, true);
  std::ofstream md(run.path("ablation.md"));
  md << "# DaViT-pico attention ablation\n\n`" << flags.command_line() << "`\n\n" << table.str() << "\nBudget per run: "
     << used.epochs << " epochs, batch " << used.batch_size << ", lr " << used.lr << ", warmup " << used.warmup_epochs
     << " epochs; fmnist " << bud.fmnist_train
     << " training images (0 = all), " << bud.fmnist_test << " test (0 = all 10000); probe " << bud.probe_train
     << " training / " << bud.probe_test << " test images, " << bud.probe_glyphs << " letters at scale " << bud.probe_scale << ", label "
     << (bud.probe_pair ? "pair" : "same") << ". Seeds " << flags.seed() << ".." << flags.seed() + seeds - 1 << ". Wall time "
     << std::lround(run.seconds()) << " s.\n";
  md.close();
  std::cerr << table.str();
  save_png(run.path("ablation.png"),
           render_bar_chart("DaViT-pico: test top-1 by attention arm (mean +- std over " + std::to_string(seeds) +
                                " seeds)", tasks, arms, means, stds, "top-1 %"));
  bool any_curve = false;
  for (const LinePlot& c : curves)
    for (const PlotSeries& s : c.series) any_curve |= s.x.size() > 1;
  if (any_curve) save_line_plots(run.path("ablation_curves.png"), curves);
  run.finish_arms(arms_json);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = make_flags();
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "train") return run_train(f);
    if (f.command() == "ablate") return run_ablate(f);
    return run_eval(f);
  });
}
