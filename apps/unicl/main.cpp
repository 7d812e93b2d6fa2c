// unicl: UniCL (unified contrastive learning in image-text-label space, papers/unicl.md) at small scale on
// two testbeds: Fashion-MNIST (image-label data only) and the SHAPES world (image-label + image-caption
// data, 12 held-out colour-shape pairs for compositional zero-shot).
//   unicl train --loss unicl|clip|ce --data fmnist|shapes --mix label|text|both [--export-clip]
//   unicl zeroshot --weights W [--classes "red circle,blue star"]   prompt-ensemble classifier, any class names
//   unicl probe --weights W                                          linear probe on frozen features
//   unicl ablate [--arms LIST] [--seeds N]                           the six arms of both testbeds: table, chart, JSON
// Leaves out: SupCon (image-image contrast), mixup targets, image-text data for Fashion-MNIST.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/common/ablate.h"
#include "image/plot.h"
#include "apps/unicl/unicl.h"
#include "io/file_util.h"
#include "data/idx.h"

using namespace iris;
using namespace iris::unicl;

namespace {

const char* kAllArms = "fmnist-ce,fmnist-unicl,fmnist-clip,shapes-label,shapes-text,shapes-both";

Flags make_flags() {
  Flags f("unicl",
          "UniCL-mini: one image-text-label contrastive loss (same label = positive pair) against CLIP's and "
          "cross-entropy, on Fashion-MNIST and the SHAPES world. Here --data names the testbed: fmnist or shapes "
          "(Fashion-MNIST's folder is --fmnist-dir)",
          {{"train", "train one arm (--loss, --data, --mix), evaluate it; --export-clip also writes the frozen "
                     "CLIP teacher later apps load"},
           {"zeroshot", "classify test pictures with a prompt-ensemble text classifier over any class names "
                        "(--weights W --classes \"red circle,blue star\")"},
           {"probe", "linear probe (logistic regression, AdamW) on the frozen pooled features of --weights W"},
           {"ablate", "every arm of both testbeds on one budget: ablation.md, ablation.png, one JSON line"}});
  f.add_string("loss", "unicl",
               "unicl: soft targets T_ij = 1[y_i = y_j] over the batch, image->text + text->image (same-class "
               "pairs are positives); clip: identity targets (only a picture's own text is positive); ce: a "
               "linear head on the pooled image features, plain cross-entropy (no text tower)", "LOSS");
  f.add_string("mix", "label",
               "training data (shapes): label = image-label pairs, texts are random prompts of the shape name; "
               "text = image-caption pairs, each caption its own label (= CLIP); both = the union, labels merged",
               "MIX");
  f.add_string("arms", kAllArms, "ablate: the arms, comma-separated", "LIST");
  f.add_int("seeds", 1, "ablate: runs per arm, with seeds --seed, --seed+1, ...");
  f.add_string("weights", "", "zeroshot/probe: weights written by unicl train (or runs/clip/clip.safetensors)", "FILE");
  f.add_string("classes", "", "zeroshot: class names, comma-separated ('+' joins synonyms: \"t-shirt+top,bag\"); "
               "default: the testbed's classes", "LIST");
  f.add_bool("export-clip", false, "train: also write the model as the frozen CLIP teacher other apps load: "
             "--clip-out (weights + config in its metadata) and tokenizer.model beside it");
  f.add_string("clip-out", "runs/clip/clip.safetensors", "train --export-clip: where the CLIP weights go", "FILE");
  f.add_string("tokenizer", "", "sentencepiece model (default: $IRIS_TOKENIZER or build/tokenizer/iris.model, "
               "made by `make tokenizer`)", "FILE");
  f.add_string("fmnist-dir", data::fashion_mnist_dir(), "folder with Fashion-MNIST's IDX files", "DIR");
  f.add_string("image", "vit-mini", "image tower: vit-mini, davit-pico or resnet-mini", "NAME");
  f.add_int("embed-dim", 64, "joint embedding size");
  f.add_int("context", 16, "text context length in tokens");
  f.add_int("text-width", 64, "text transformer width");
  f.add_int("text-layers", 2, "text transformer layers");
  f.add_int("text-heads", 4, "text transformer heads");
  OptimizerFlagDefaults opt;  // a contrastive loss: no label smoothing; the towers have no stochastic depth
  opt.weight_decay = 0.1, opt.warmup_epochs = 0.5, opt.clip_norm = 5.0;
  opt.with_label_smoothing = opt.with_drop_path = false;
  opt.no_decay_on = "biases, norms, embeddings, logit scale";
  add_optimizer_flags(f, opt);
  f.add_int("train-subset", 20000, "fmnist: train on the first N training images (0: all 60000)");
  f.add_int("test-subset", 0, "fmnist: evaluate on the first N test images (0: all 10000)");
  f.add_int("shapes-label", 10000, "shapes: image-label training pictures");
  f.add_int("shapes-text", 10000, "shapes: image-caption training pictures");
  f.add_int("shapes-test", 2000, "shapes: test pictures, held-in and held-out each");
  f.add_int("probe-train", 5000, "linear probe: training pictures");
  f.add_int("world-seed", 1, "shapes: the world's seed (pictures and captions)");
  f.add_int("log-every", 20, "a metrics.jsonl line every N steps");
  f.add_int("stop-after-steps", -1, "train: stop after N steps, checkpointing first (to test --resume)");
  f.set_range("seeds", 1, 100);
  f.set_range("embed-dim", 1, 4096);
  f.set_range("context", 4, 256);
  f.set_range("world-seed", 0, 1e15);
  f.set_default("data", "fmnist");
  f.set_default("epochs", "5");
  f.set_default("batch-size", "256");
  f.set_default("lr", "0.001");
  return f;
}

std::string tokenizer_path(const Flags& flags) {
  std::string p = flags.get_string("tokenizer").empty() ? text::default_tokenizer_path() : flags.get_string("tokenizer");
  IRIS_CHECK(path_exists(p), "no tokenizer model at ", p, ": run `make tokenizer` (or `datagen corpus --out DIR` and "
             "pass --tokenizer DIR/iris.model)");
  return p;
}

void check_data(const std::string& data) {
  IRIS_CHECK(data == "fmnist" || data == "shapes", "unknown --data '", data,
             "': use fmnist or shapes (the Fashion-MNIST folder is --fmnist-dir)");
}

// The picture of a run: test pictures (shapes: held-out pairs, 48 colour-shape classes) with their top 5.
// (curves.png is the training loop's.)
void save_run_pictures(Run& run, Trained& t, const Testbed& bed, const text::Tokenizer& tok, Device device, bool quick) {
  const bool shapes = bed.zeroshot_images.defined();
  const Tensor& images = shapes ? bed.zeroshot_images : bed.test_images;
  Tensor few = images.slice(0, 0, std::min<int64_t>(8, images.shape()[0]));
  if (t.head) {
    NoGradGuard ng;
    Tensor logits = t.head->forward(image_features(*t.model, few, device).to(device)).cpu();
    save_top5_picture(run.path("top5.png"), few, bed, logits, bed.classes, "cross-entropy head: top-5 classes");
    return;
  }
  const auto& classes = shapes ? bed.zeroshot_classes : bed.classes;
  Tensor w = text_classifier(*t.model, tok, classes, device, quick ? quick_templates() : std::vector<std::string>());
  Tensor scores = matmul(embed_images(*t.model, few, device), w.t()) * t.model->logit_scale().cpu().item();
  save_top5_picture(run.path("top5.png"), few, bed, scores, classes,
                    shapes ? "held-out colour-shape pairs: top-5 prompts" : "test pictures: top-5 prompts");
}

struct ArmResult {
  Metrics metrics;
  Trained trained;
  int64_t params = 0;
  double seconds = 0;
};

ArmResult run_arm(const Flags& flags, const Testbed& bed, const text::Tokenizer& tok, const std::string& tok_path,
                  TrainOptions o, Run& run) {
  ArmResult r;
  json::Value cfg = json::Value::object();
  cfg["data"] = bed.data, cfg["loss"] = o.loss, cfg["mix"] = o.mix, cfg["epochs"] = o.epochs;
  cfg["batch_size"] = o.batch_size, cfg["train_pictures"] = bed.train_images.shape()[0];
  run.set_config("arm", cfg);
  std::cerr << "unicl: " << bed.data << ", loss " << o.loss << ", mix " << o.mix << ": " << bed.train_images.shape()[0]
            << " training pictures, " << o.epochs << " epochs of batch " << o.batch_size << ", run folder " << run.dir()
            << "\n";
  r.trained = train_arm(bed, tok, o, flags, run);  // evaluates after the last epoch, into metrics.jsonl
  r.params = r.trained.model->parameter_count() + (r.trained.head ? r.trained.head->parameter_count() : 0);
  r.metrics = r.trained.metrics;
  if (r.trained.stopped_early) return r;  // checkpointed, not evaluated
  save_model_file(run.path("weights.safetensors"), r.trained, bed, tok_path);
  save_run_pictures(run, r.trained, bed, tok, o.device, flags.quick());
  r.seconds = run.seconds();
  return r;
}

int run_train(const Flags& flags) {
  const std::string data = flags.get_string("data");
  check_data(data);
  TrainOptions o = train_options(flags, false);
  IRIS_CHECK(!(o.loss == "ce" && o.mix != "label"), "--loss ce trains a class head: it needs --mix label");
  const std::string tok_path = tokenizer_path(flags);
  text::Tokenizer tok(tok_path);
  Testbed bed = load_testbed(data, o.mix, flags, sizes_from(flags, false));
  Run run(flags);
  ArmResult r = run_arm(flags, bed, tok, tok_path, o, run);
  if (r.trained.stopped_early) {
    std::cerr << "unicl: stopped after " << r.trained.steps << " steps; resume with --resume "
              << run.checkpoint_path("last.safetensors") << " --out " << run.dir() << "\n";
    json::Value m = json::Value::object();
    m["params"] = r.params;
    m["steps"] = r.trained.steps;
    m["train_loss"] = r.trained.final_loss;
    run.finish(m);
    return 0;
  }
  if (flags.get_bool("export-clip")) {
    IRIS_CHECK(o.loss != "ce", "--export-clip needs a text tower: train with --loss unicl or clip");
    save_model_file(flags.get_string("clip-out"), r.trained, bed, tok_path);
    std::cerr << "unicl: CLIP teacher written to " << flags.get_string("clip-out") << " (tokenizer.model beside it)\n";
  }
  std::cerr << "unicl: top-1 " << r.metrics.top1 << "%, probe " << r.metrics.probe << "%";
  if (r.metrics.zeroshot >= 0) std::cerr << ", zero-shot (held-out pairs, 48-way) " << r.metrics.zeroshot << "%";
  std::cerr << "; pictures: " << run.path("top5.png") << "\n";
  json::Value m = metrics_json(r.metrics);
  m["params"] = r.params;
  m["steps"] = r.trained.steps;
  m["first_loss"] = r.trained.first_loss;
  m["train_loss"] = r.trained.final_loss;
  run.finish(m);
  return 0;
}

// Sizes for commands that only evaluate: the training part is just the probe's pictures.
Sizes eval_sizes(const Flags& flags) {
  Sizes s = sizes_from(flags, false);
  s.fmnist_train = s.shapes_label = s.probe_train;
  s.shapes_text = 1;
  return s;
}

// Which of `classes` a picture is, or -1 when none or several fit. shapes: a class fits when every
// attribute word in its name (colour, shape, size, position) agrees with the picture; fmnist: by name.
int64_t truth_among(const std::vector<text::ClassSynonyms>& classes, const Testbed& bed, int64_t i) {
  int64_t found = -1;
  for (size_t k = 0; k < classes.size(); ++k) {
    bool fits = false;
    for (const std::string& name : classes[k]) {
      bool claims = false, agrees = true;
      if (bed.data == "fmnist") {
        int64_t y = bed.test_labels.select(0, i).item<int64_t>();
        for (const std::string& syn : bed.classes[y]) claims |= syn == name;
        agrees = claims;
      } else {
        const synth::ShapeFactors& f = i < static_cast<int64_t>(bed.test_factors.size())
                                           ? bed.test_factors[i]
                                           : bed.zeroshot_factors[i - bed.test_factors.size()];
        const std::string padded = " " + name + " ";
        const std::pair<const char*, int> factors[] = {{"shape", f.shape}, {"color", f.color}, {"size", f.size},
                                                       {"position", f.position}};
        const int counts[] = {synth::shape_kind::count, synth::shape_color::count, synth::shape_size::count,
                              synth::shape_position::count};
        for (int fi = 0; fi < 4; ++fi)
          for (int v = 0; v < counts[fi]; ++v)
            for (const std::string& w : synth::shape_caption_words(factors[fi].first, v))
              if (padded.find(" " + w + " ") != std::string::npos) claims = true, agrees &= v == factors[fi].second;
      }
      fits |= claims && agrees;
    }
    if (!fits) continue;
    if (found >= 0) return -1;
    found = static_cast<int64_t>(k);
  }
  return found;
}

int run_zeroshot(const Flags& flags) {
  LoadedModel lm = load_model_file(flags.get_string("weights"), flags.device());
  IRIS_CHECK(!lm.trained.head, "zeroshot needs a text tower; ", flags.get_string("weights"),
             " was trained with --loss ce");
  Testbed bed = load_testbed(lm.data, "label", flags, eval_sizes(flags));
  std::vector<text::ClassSynonyms> classes = flags.get_string("classes").empty()
                                                 ? (lm.data == "shapes" ? bed.zeroshot_classes : bed.classes)
                                                 : text::parse_class_list(flags.get_string("classes"));
  Tensor images = bed.zeroshot_images.defined() ? cat({bed.test_images, bed.zeroshot_images}, 0) : bed.test_images;
  Run run(flags);
  models::DualEncoder& model = *lm.trained.model;
  Tensor w = text_classifier(model, *lm.tokenizer, classes, flags.device(),
                             flags.quick() ? quick_templates() : std::vector<std::string>());
  Tensor scores = matmul(embed_images(model, images, flags.device()), w.t());  // [N, K] cosines
  std::vector<int64_t> pred = argmax(scores, 1).to_vector<int64_t>();
  std::vector<int64_t> per_class(classes.size(), 0);
  int64_t matched = 0, right = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    ++per_class[pred[i]];
    int64_t truth = truth_among(classes, bed, static_cast<int64_t>(i));
    if (truth < 0) continue;
    ++matched;
    right += pred[i] == truth;
  }
  // the picture: pictures whose class is among the names first
  std::vector<int64_t> show;
  for (int64_t i = 0; i < images.shape()[0] && show.size() < 8; ++i)
    if (truth_among(classes, bed, i) >= 0) show.push_back(i);
  for (int64_t i = 0; i < images.shape()[0] && show.size() < 8; ++i)
    if (std::find(show.begin(), show.end(), i) == show.end()) show.push_back(i);
  Tensor idx = from_vector(show);
  save_top5_picture(run.path("top5.png"), index_select(images, 0, idx), bed,
                    index_select(scores, 0, idx) * model.logit_scale().cpu().item(), classes,
                    "zero-shot over " + std::to_string(classes.size()) + " class names: top-5");
  json::Value m = json::Value::object(), counts = json::Value::object();
  for (size_t k = 0; k < classes.size(); ++k) counts[classes[k].front()] = per_class[k];
  std::cerr << "unicl zeroshot: " << images.shape()[0] << " " << lm.data << " test pictures over " << classes.size()
            << " classes";
  if (matched > 0) {
    m["top1"] = 100.0 * right / matched;
    std::cerr << "; top-1 " << 100.0 * right / matched << "% on the " << matched << " pictures whose class is listed";
  }
  std::cerr << "; picture: " << run.path("top5.png") << "\n";
  m["pictures"] = images.shape()[0];
  m["matched"] = matched;
  m["classes"] = static_cast<int64_t>(classes.size());
  m["predicted"] = counts;
  run.finish(m);
  return 0;
}

int run_probe(const Flags& flags) {
  LoadedModel lm = load_model_file(flags.get_string("weights"), flags.device());
  Testbed bed = load_testbed(lm.data, "label", flags, eval_sizes(flags));
  Run run(flags);
  models::DualEncoder& model = *lm.trained.model;
  double probe = linear_probe(image_features(model, bed.probe_train_images, flags.device()), bed.probe_train_labels,
                              image_features(model, bed.probe_test_images, flags.device()), bed.probe_test_labels,
                              static_cast<int64_t>(bed.probe_classes.size()), flags.quick() ? 100 : 300,
                              flags.device());
  std::cerr << "unicl probe: linear probe on " << (lm.data == "shapes" ? "colour" : "the classes") << ": " << probe
            << "% (" << bed.probe_train_images.shape()[0] << " training, " << bed.probe_test_images.shape()[0]
            << " test pictures)\n";
  json::Value m = json::Value::object();
  m["probe"] = probe;
  m["top1"] = probe;
  run.finish(m);
  return 0;
}

// The six arms: fmnist-{ce,unicl,clip} (the loss on Fashion-MNIST labels) and shapes-{label,text,both}
// (UniCL on the SHAPES world's labels, captions or both); the chart groups the arms by metric.
int run_ablate(const Flags& flags) {
  std::vector<std::string> arms = split_list(flags.get_string("arms"));
  IRIS_CHECK(!arms.empty(), "unicl ablate: --arms must name at least one arm (", kAllArms, ")");
  const std::vector<std::string> known = split_list(kAllArms);
  for (const std::string& a : arms)
    IRIS_CHECK(std::find(known.begin(), known.end(), a) != known.end(), "unicl ablate: unknown arm '", a,
               "' in --arms: use some of ", kAllArms);
  const std::string tok_path = tokenizer_path(flags);
  text::Tokenizer tok(tok_path);
  const Sizes sizes = sizes_from(flags, true);
  AblationSpec spec;
  spec.title = "UniCL-mini ablation";
  spec.seeds = static_cast<int>(flags.get_int("seeds"));
  spec.first_seed = flags.seed();
  for (const std::string& a : arms) spec.arms.push_back(AblationArm{a, {}, "", ""});
  spec.columns = {AblationColumn::measured("top-1 %", "top1", 2, true),
                  AblationColumn::measured("linear probe %", "probe", 2, true),
                  AblationColumn::measured("zero-shot held-out %", "zeroshot", 2, true),
                  AblationColumn::plain("params", "params"), AblationColumn::plain("seconds", "seconds")};
  spec.chart_title = "UniCL-mini: every arm, metrics in percent";
  spec.chart_y_label = "percent";
  Run run(flags);
  std::map<std::string, Testbed> beds;  // by data + mix
  spec.run_one = [&](const AblationArm& arm, uint64_t seed, const std::string& dir) {
    const std::string data = arm.name.substr(0, arm.name.find('-')), kind = arm.name.substr(arm.name.find('-') + 1);
    TrainOptions o = train_options(flags, true);
    o.seed = seed;
    o.loss = data == "fmnist" ? kind : "unicl";
    o.mix = data == "fmnist" ? "label" : kind;
    const std::string key = data + "/" + o.mix;
    if (!beds.count(key)) beds.emplace(key, load_testbed(data, o.mix, flags, sizes));
    Run sub("unicl", "train", dir);
    ArmResult r = run_arm(flags, beds.at(key), tok, tok_path, o, sub);
    json::Value a = metrics_json(r.metrics);
    a["params"] = r.params;
    a["seconds"] = r.seconds;
    return a;
  };
  spec.notes = [&] {
    TrainOptions used = train_options(flags, true);
    std::ostringstream md;
    md << "top-1: fmnist 10-way (ce: its head; unicl/clip: the prompt-ensemble text classifier); shapes 6-way shape "
          "classification of held-in test pictures by prompts. Probe: linear probe on frozen pooled features "
          "(fmnist classes; shapes colour). Zero-shot: 48-way \"{colour} {shape}\" on the 12 held-out pairs.\n\n"
       << "Budget per arm: " << used.epochs << " epochs, batch " << used.batch_size << ", lr " << used.lr << ", wd "
       << used.weight_decay << "; fmnist " << sizes.fmnist_train << " training pictures; shapes " << sizes.shapes_label
       << " image-label + " << sizes.shapes_text << " image-caption pictures, " << sizes.shapes_test
       << " test pictures per test split.";
    return md.str();
  };
  run_ablation(flags, run, spec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = make_flags();
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "train") return run_train(f);
    if (f.command() == "zeroshot") return run_zeroshot(f);
    if (f.command() == "probe") return run_probe(f);
    return run_ablate(f);
  });
}
