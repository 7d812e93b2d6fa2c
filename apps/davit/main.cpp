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
#include <cmath>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/common/ablate.h"
#include "image/plot.h"
#include "apps/davit/davit_app.h"
#include "data/idx.h"
#include "nn/init.h"
#include "io/safetensors.h"

using namespace iris;
using namespace iris::davit_app;

namespace {

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
  OptimizerFlagDefaults opt;
  opt.warmup_epochs = 0.3, opt.drop_path = 0.05;
  add_optimizer_flags(f, opt);
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

// ---- commands -------------------------------------------------------------------------------

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
  json::Value c = file.metadata_json("config");
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

// Every task x arm (fmnist arms are named by the arm alone, probe arms "probe-ARM") over --seeds seeds;
// the chart groups the arms by task, with each task's chance level dashed.
int run_ablate(const Flags& flags) {
  std::vector<std::string> arms = split_list(flags.get_string("arms")), tasks = split_list(flags.get_string("tasks"));
  IRIS_CHECK(!arms.empty() && !tasks.empty(), "davit ablate: --arms and --tasks must name at least one each");
  for (const std::string& a : arms) models::DavitConfig::named("davit-pico").with_arm(a);  // fail early
  for (const std::string& t : tasks)
    IRIS_CHECK(t == "fmnist" || t == "probe", "davit ablate: unknown task '", t, "' in --tasks: use fmnist and/or probe");
  const Budget bud = budget_from(flags, true);
  AblationSpec spec;
  spec.title = "DaViT-pico attention ablation";
  spec.seeds = flags.quick() && !flags.is_set("seeds") ? 2 : static_cast<int>(flags.get_int("seeds"));
  spec.first_seed = flags.seed();
  spec.label_headers = {"task", "arm"};
  for (const std::string& task : tasks) {
    for (const std::string& arm : arms)
      spec.arms.push_back(AblationArm{(task == "fmnist" ? "" : task + "-") + arm, {task, arm}, task, arm});
    spec.reference_by_group[task] = 100.0 / static_cast<double>(task_classes(task, bud));
  }
  spec.columns = {AblationColumn::measured("top-1 %", "top1", 2, true), AblationColumn::plain("params", "params"),
                  AblationColumn::plain("FLOPs (multiply-adds)", "flops", 1, 1e-6, "M"),
                  AblationColumn::plain("seconds per run", "seconds")};
  spec.chart_title = "DaViT-pico: test top-1 by attention arm";

  Run run(flags);
  TaskData data;  // the task being run (arms are task-major: each task is loaded once)
  std::map<std::string, std::map<double, std::pair<double, int>>> by_epoch;  // arm -> epoch -> (sum of top1, count)
  spec.run_one = [&](const AblationArm& arm, uint64_t seed, const std::string& dir) {
    const std::string& task = arm.group;
    if (data.task != task) data = load_task(task, flags, bud);
    Run sub("davit", "train", dir);
    RunResult r = train_one(flags, data, arm.bar, seed, sub, seed == spec.first_seed, true);  // pictures: first seed
    for (const json::Value& rec : r.records)
      if (rec.contains("top1") && rec.contains("epoch")) {
        auto& acc = by_epoch[arm.name][rec["epoch"].as_number()];
        acc.first += rec["top1"].as_number(), acc.second += 1;
      }
    json::Value m = json::Value::object();
    m["top1"] = r.r.top1;
    m["params"] = r.params;
    m["flops"] = r.macs;
    m["seconds"] = r.seconds;
    return m;
  };
  spec.notes = [&] {
    ClassifyOptions used = train_options(flags, 0, INT64_MAX, true);
    std::ostringstream notes;
    notes << "Budget per run: " << used.epochs << " epochs, batch " << used.batch_size << ", lr " << used.lr
          << ", warmup " << used.warmup_epochs << " epochs; fmnist " << bud.fmnist_train
          << " training images (0 = all), " << bud.fmnist_test << " test (0 = all 10000); probe " << bud.probe_train
          << " training / " << bud.probe_test << " test images, " << bud.probe_glyphs << " letters at scale "
          << bud.probe_scale << ", label " << (bud.probe_pair ? "pair" : "same") << ". Dashed in the chart: chance.";
    return notes.str();
  };
  // ablation_curves.png: per task, test top-1 by epoch of every arm (mean over seeds)
  run_ablation(flags, run, spec, [&](const std::vector<AblationResult>&) {
    std::vector<LinePlot> curves;
    bool any_curve = false;
    for (const std::string& task : tasks) {
      LinePlot curve;
      curve.title = task + ": test top-1 by epoch (mean over seeds)";
      curve.x_label = "epoch";
      curve.y_label = "top-1 %";
      for (size_t ai = 0; ai < arms.size(); ++ai) {
        PlotSeries series;
        series.label = arms[ai];
        series.color = colors::palette(static_cast<int>(ai));
        for (auto& [e, acc] : by_epoch[(task == "fmnist" ? "" : task + "-") + arms[ai]])
          series.x.push_back(e), series.y.push_back(acc.first / acc.second);
        any_curve |= series.x.size() > 1;
        curve.series.push_back(series);
      }
      curves.push_back(curve);
    }
    if (any_curve) save_line_plots(run.path("ablation_curves.png"), curves);
  });
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
