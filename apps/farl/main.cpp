// farl: FaRL (face representation learning by image-text contrast plus masked image modelling,
// papers/farl.md) at small scale on the FACES world, with face parsing and face alignment downstream.
//   farl pretrain --objective itc|mim|itc+mim        ITC (CLIP loss, learnable temperature) and/or MIM (k-means
//                                                    visual tokens, BEiT blockwise masks, [clean; masked] batch)
//   farl parse --init W|random --labels PCT         FPN adapters + UperNet-lite, F1-mean on the test split
//   farl align --init W|random --labels PCT         heatmaps + soft-argmax, NME inter-ocular on the test split
//   farl ablate [--inits LIST] [--fractions LIST] [--seeds N]   every init x label fraction x seed: table, chart, JSON
//   farl demo                                       a short itc+mim pre-training, then parsing on 10% of the labels
//   parse/align --image A.png,B.png                 also predict the user's own 48x48 faces (image-parse.png, ...)
//   pretrain --export [--export-out FILE]           also write the encoder + tokenizer where HairCLIP looks for it
// Leaves out: a separate eval command (parse and align evaluate on the test split as they finish), augmentation.
#include <algorithm>
#include <iostream>
#include <map>
#include <sstream>

#include "apps/common/ablate.h"
#include "apps/farl/farl.h"
#include "data/visual_tokens.h"
#include "io/file_util.h"

using namespace iris;
using namespace iris::farl;

namespace {

Flags make_flags() {
  Flags f("farl",
          "FaRL-mini: pre-train a ViT face encoder with image-text contrast (ITC), masked image modelling (MIM) "
          "or both on the FACES world, then fine-tune it for face parsing and face alignment",
          {{"pretrain", "pre-train the encoder (--objective itc|mim|itc+mim); writes <run>/weights.safetensors"},
           {"parse", "fine-tune face parsing (10 labels) from --init W|random on --labels % of the labelled faces"},
           {"align", "fine-tune face alignment (14 landmarks) from --init W|random on --labels % of the labelled faces"},
           {"ablate", "random init, ITC, MIM, ITC+MIM x label fractions x seeds: ablation.md, ablation.png, JSON"},
           {"demo", "about a minute: a short itc+mim pre-training, then face parsing on 10% of the labels, with pictures"}});
  f.add_string("objective", "itc+mim", "pretrain: itc (CLIP loss), mim (masked visual-token prediction) or itc+mim "
               "(FaRL: L = L_ITC + lambda L_MIM)", "OBJ");
  f.add_int("pretrain-epochs", 3, "pretrain: epochs over the pre-training pairs");
  f.add_double("mim-weight", 1.0, "pretrain: lambda, the weight of the MIM loss");
  f.add_int("mask-patches", 26, "pretrain: patches BEiT's blockwise masking aims for (of 64; ~40%)");
  f.add_int("vocab", 256, "visual vocabulary: k-means clusters of 6x6x3 patches");
  f.add_int("width", 64, "ViT width");
  f.add_int("depth", 6, "ViT blocks");
  f.add_int("heads", 4, "ViT heads");
  f.add_int("embed-dim", 64, "joint image-text embedding size");
  f.add_int("context", 24, "caption context length in tokens");
  f.add_int("text-width", 64, "text transformer width");
  f.add_int("text-layers", 2, "text transformer layers");
  f.add_int("text-heads", 4, "text transformer heads");
  f.add_string("tokenizer", "", "sentencepiece model (default: $IRIS_TOKENIZER or build/tokenizer/iris.model, made by "
               "`make tokenizer`)", "FILE");
  f.add_string("init", "random", "parse/align: the encoder to start from (a farl pretrain weights.safetensors) or "
               "random", "W");
  f.add_string("image", "", "parse/align: your own faces to predict after fine-tuning (comma-separated 48x48 PNG/JPEG "
               "files, e.g. DIR/face/000.png from `datagen faces --out DIR`): <run>/image-parse.png or image-align.png", "FILES");
  f.add_bool("export", false, "pretrain: also write the encoder (image + text towers, visual vocabulary) and its "
             "tokenizer to --export-out, the file HairCLIP loads");
  f.add_string("export-out", "runs/farl/encoder.safetensors", "pretrain --export: where the encoder goes (the "
               "tokenizer.model beside it)", "FILE");
  f.add_double("labels", 100, "parse/align: percent of the labelled faces to fine-tune on (e.g. 1, 10, 100)", "PCT");
  f.add_double("head-lr", 1e-3, "parse/align: learning rate of the adapters and head");
  f.add_double("backbone-lr-factor", 0.1, "parse/align: backbone lr = this x head lr");
  f.add_double("finetune-weight-decay", 1e-4, "parse/align: AdamW weight decay");
  f.add_int("finetune-batch", 32, "parse/align: batch size");
  f.add_string("inits", "random,itc,mim,both", "ablate: the initialisations (both = itc+mim)", "LIST");
  f.add_string("fractions", "1,10,100", "ablate: label percentages", "LIST");
  f.add_int("seeds", 3, "ablate: seeds per arm (--seed, --seed+1, ...): pre-training and fine-tuning");
  f.add_int("pretrain-faces", 8000, "pre-training image-caption pairs (train faces 0 .. N-1)");
  f.add_int("labelled-faces", 2500, "labelled faces for fine-tuning (the train faces after the pre-training ones)");
  f.add_int("val-faces", 500, "val faces (pre-training's retrieval and token accuracy)");
  f.add_int("test-faces", 1000, "test faces (parsing F1, NME)");
  f.add_int("world-seed", 1, "the FACES world's seed");
  f.add_int("log-every", 20, "a metrics.jsonl line every N steps");
  f.add_int("stop-after-steps", -1, "pretrain/parse/align: stop after N steps, checkpointing first (to test --resume)");
  OptimizerFlagDefaults opt;
  opt.weight_decay = 0.05, opt.warmup_epochs = 0.5, opt.clip_norm = 5.0;
  opt.with_label_smoothing = opt.with_drop_path = false;
  opt.no_decay_on = "biases, norms, embeddings, mask token, logit scale";
  add_optimizer_flags(f, opt);
  f.set_range("seeds", 1, 100);
  f.set_range("world-seed", 0, 1e15);
  f.set_range("mask-patches", 1, 64);
  f.set_range("vocab", 2, 4096);
  f.set_range("pretrain-faces", 2, 1e7);
  f.set_range("labelled-faces", 1, 1e7);
  f.set_range("val-faces", 1, 1e6);
  f.set_range("test-faces", 1, 1e6);
  f.set_default("epochs", "3");
  f.set_default("batch-size", "128");
  f.set_default("lr", "0.001");
  return f;
}

std::string tokenizer_path(const Flags& flags) {
  std::string p = flags.get_string("tokenizer").empty() ? text::default_tokenizer_path() : flags.get_string("tokenizer");
  IRIS_CHECK(path_exists(p), "no tokenizer model at ", p, ": run `make tokenizer` (or pass --tokenizer FILE)");
  return p;
}

struct World {
  FaceSet pretrain, labelled, val, test;
};
World make_world(const Flags& flags, bool need_pretrain, bool need_labelled, Sizes s) {
  const uint64_t seed = static_cast<uint64_t>(flags.get_int("world-seed"));
  World w;
  if (need_pretrain) {
    w.pretrain = make_face_set(synth::FaceSplit::train, 0, s.pretrain, seed);
    w.val = make_face_set(synth::FaceSplit::val, 0, s.val, seed);
  }
  if (need_labelled) {
    w.labelled = make_face_set(synth::FaceSplit::train, s.pretrain, s.labelled, seed);
    w.test = make_face_set(synth::FaceSplit::test, 0, s.test, seed);
  }
  return w;
}

void save_tokens_picture(Run& run, const Pretrained& p, const FaceSet& val) {
  FaceSet few = first_faces(val, 6);
  const int64_t P = p.model->cfg.patch, g = p.model->cfg.grid();
  Tensor patches = data::image_patches(few.images, P);
  Tensor tokens = data::kmeans_assign(patches.reshape({few.size() * g * g, patches.shape()[2]}), p.centroids);
  Tensor pred;
  if (p.model->cfg.vocab == p.centroids.shape()[0]) {
    NoGradGuard ng;
    Tensor mask = zeros({few.size(), g * g});
    for (int64_t i = 0; i < few.size(); ++i)  // a fixed 40% band of rows, the same for every face
      for (int64_t j = 2 * g; j < 2 * g + (g * g * 2) / 5; ++j) mask.select(0, i).select(0, j).fill_(1.0);
    auto& v = *p.model->visual;
    Device dev = p.model->logit_scale_param.device();
    pred = argmax(v.mim_logits(v.run_blocks(v.embed(few.images.to(dev), mask.to(dev)))), 2).cpu();
  }
  save_token_picture(run.path("tokens.png"), few, tokens, pred, g);
}

int run_pretrain(const Flags& flags) {
  PretrainOptions o = pretrain_options(flags, false);
  const std::string tok_path = tokenizer_path(flags);
  text::Tokenizer tok(tok_path);
  models::FarlConfig cfg = model_config(flags, tok.vocab_size());
  World w = make_world(flags, true, false, sizes_from(flags));
  Run run(flags);
  run.set_config("model", config_to_json(cfg));
  std::cerr << "farl pretrain: " << o.objective << " on " << w.pretrain.size() << " face-caption pairs, " << o.epochs
            << " epochs of batch " << o.batch_size << ", run folder " << run.dir() << "\n";
  Pretrained p = pretrain(w.pretrain, w.val, tok, o, cfg, run);
  json::Value m = p.metrics;
  m["params"] = p.model->parameter_count();
  m["steps"] = p.steps;
  m["first_loss"] = p.first_loss;
  m["train_loss"] = p.final_loss;
  if (!p.stopped_early) {
    save_encoder(run.path("weights.safetensors"), p, o.objective, tok_path);
    if (objective_has_mim(o.objective)) save_tokens_picture(run, p, w.val);
    std::cerr << "farl pretrain: encoder written to " << run.path("weights.safetensors") << "\n";
    if (flags.get_bool("export")) {
      save_encoder(flags.get_string("export-out"), p, o.objective, tok_path);
      std::cerr << "farl pretrain: exported for HairCLIP to " << flags.get_string("export-out")
                << " (tokenizer.model beside it)\n";
    }
  }
  run.finish(m);
  return 0;
}

struct Init {
  models::FarlConfig cfg;
  std::shared_ptr<models::Farl> model;  // null: random init
};
Init init_from(const Flags& flags) {
  Init in;
  const std::string& w = flags.get_string("init");
  if (w == "random") {
    in.cfg = model_config(flags, 1);  // the text tower is not used downstream
    return in;
  }
  LoadedEncoder e = load_encoder(w);
  in.model = e.model;
  in.cfg = e.model->cfg;
  return in;
}

// user: the user's own faces (--image), predicted after fine-tuning into <run>/image-<task>.png; may be empty.
json::Value finetune_and_picture(const std::string& task, const Init& in, const World& w, FinetuneOptions o,
                                 Run& run, uint64_t seed, const FaceSet& user = FaceSet()) {
  o.task = task;
  o.seed = seed;
  o.bar_label = task + " " + std::to_string(static_cast<int>(o.label_percent)) + "%";
  o.curves_title = "farl " + task;
  Finetuned f = finetune(in.cfg, in.model ? in.model->visual.get() : nullptr, w.labelled, w.test, o, run);
  json::Value m = f.metrics;
  m["steps"] = f.steps;
  m["train_faces"] = f.train_faces;
  m["first_loss"] = f.first_loss;
  m["train_loss"] = f.final_loss;
  if (!f.stopped_early && o.pictures) {
    FaceSet few = first_faces(w.test, 8);
    Tensor pred;
    evaluate_dense(*f.model, task, few, o.device, &pred);
    if (task == "parse") save_parsing_picture(run.path("parsing.png"), few, pred);
    else save_landmark_picture(run.path("landmarks.png"), few, pred);
  }
  if (!f.stopped_early && user.size() > 0) {
    Tensor pred = predict_dense(*f.model, task, user.images, o.device);
    const std::string path = run.path("image-" + task + ".png");
    if (task == "parse") save_parsing_picture(path, user, pred, static_cast<int>(user.size()));
    else save_landmark_picture(path, user, pred, static_cast<int>(user.size()));
    std::cerr << "farl " << task << ": your " << user.size() << " face(s) predicted in " << path << "\n";
  }
  return m;
}

int run_finetune(const Flags& flags) {
  FinetuneOptions o = finetune_options(flags, false);
  Init in = init_from(flags);
  // the user's faces are read first, so a bad file stops the run before any training
  FaceSet user;
  if (!flags.get_string("image").empty()) user = load_user_faces(split_list(flags.get_string("image")), in.cfg.img_size);
  World w = make_world(flags, false, true, sizes_from(flags));
  Run run(flags);
  run.set_config("model", config_to_json(in.cfg));
  std::cerr << "farl " << flags.command() << ": from " << flags.get_string("init") << ", " << o.label_percent
            << "% of " << w.labelled.size() << " labelled faces, run folder " << run.dir() << "\n";
  json::Value m = finetune_and_picture(flags.command(), in, w, o, run, flags.seed(), user);
  run.finish(m);
  return 0;
}

// A short itc+mim pre-training (2000 pairs, 2 epochs unless the flags say otherwise), then a parsing
// fine-tune on 10% of 1000 labelled faces from it; sub-runs pretrain/ and parse/ of the run folder.
int run_demo(const Flags& flags) {
  IRIS_CHECK(flags.resume().empty(), "farl demo starts afresh; resume with farl pretrain/parse --resume");
  Sizes s = sizes_from(flags);
  if (!flags.quick()) {
    if (!flags.is_set("pretrain-faces")) s.pretrain = 2000;
    if (!flags.is_set("labelled-faces")) s.labelled = 1000;
    if (!flags.is_set("val-faces")) s.val = 200;
    if (!flags.is_set("test-faces")) s.test = 300;
  }
  const std::string tok_path = tokenizer_path(flags);
  text::Tokenizer tok(tok_path);
  const models::FarlConfig cfg = model_config(flags, tok.vocab_size());
  const World w = make_world(flags, true, true, s);
  Run run(flags);
  run.set_config("model", config_to_json(cfg));
  PretrainOptions po = pretrain_options(flags, false);
  po.objective = "itc+mim";
  if (!flags.quick() && !flags.is_set("pretrain-epochs")) po.epochs = 2;
  std::cerr << "farl demo: 1/2 pre-training itc+mim on " << w.pretrain.size() << " face-caption pairs, " << po.epochs
            << " epochs; run folder " << run.dir() << "\n";
  make_dirs(run.path("pretrain"));
  Run pre("farl", "pretrain", run.path("pretrain"));
  Pretrained p = pretrain(w.pretrain, w.val, tok, po, cfg, pre);
  save_encoder(pre.path("weights.safetensors"), p, po.objective, tok_path);
  save_tokens_picture(pre, p, w.val);
  pre.finish(p.metrics, false);
  FinetuneOptions fo = finetune_options(flags, false);
  if (!flags.is_set("labels")) fo.label_percent = 10;
  std::cerr << "farl demo: 2/2 face parsing from that encoder on " << fo.label_percent << "% of " << w.labelled.size()
            << " labelled faces\n";
  make_dirs(run.path("parse"));
  Run sub("farl", "parse", run.path("parse"));
  json::Value m = finetune_and_picture("parse", Init{cfg, p.model}, w, fo, sub, flags.seed());
  sub.finish(m, false);
  std::cerr << "farl demo: parse F1-mean " << m["f1"].as_number() << "%, mIoU " << m["miou"].as_number()
            << "% on " << w.test.size() << " test faces; pictures: " << sub.path("parsing.png") << ", "
            << pre.path("tokens.png") << "\n";
  json::Value out = json::Value::object();
  for (const char* k : {"retrieval_top1", "token_acc"})
    if (p.metrics.contains(k)) out[k] = p.metrics[k];
  out["f1"] = m["f1"], out["miou"] = m["miou"], out["pretrain_loss"] = p.final_loss, out["parse_loss"] = m["train_loss"];
  run.finish(out);
  return 0;
}

int run_ablate(const Flags& flags) {
  std::vector<std::string> inits = split_list(flags.get_string("inits"));
  std::vector<std::string> fractions = split_list(flags.get_string("fractions"));
  IRIS_CHECK(!inits.empty() && !fractions.empty(), "farl ablate: --inits and --fractions must name at least one");
  for (const std::string& i : inits)
    IRIS_CHECK(i == "random" || i == "itc" || i == "mim" || i == "both", "farl ablate: unknown init '", i,
               "' in --inits: use random, itc, mim, both");
  for (const std::string& fr : fractions) {
    double v = 0;
    IRIS_CHECK(std::istringstream(fr) >> v && v > 0 && v <= 100, "farl ablate: --fractions holds '", fr,
               "', not a percentage in (0, 100]");
  }
  const std::string tok_path = tokenizer_path(flags);
  text::Tokenizer tok(tok_path);
  const models::FarlConfig cfg = model_config(flags, tok.vocab_size());
  const World w = make_world(flags, true, true, sizes_from(flags));
  AblationSpec spec;
  spec.title = "FaRL-mini ablation: pre-training objective x label fraction";
  spec.label_headers = {"init", "labels"};
  spec.seeds = static_cast<int>(flags.get_int("seeds"));
  spec.first_seed = flags.seed();
  for (const std::string& fr : fractions)
    for (const std::string& i : inits)
      spec.arms.push_back(AblationArm{i + "-" + fr, {i == "both" ? "itc+mim" : i, fr + "%"}, fr + "% labels",
                                      i == "both" ? "itc+mim" : i});
  spec.columns = {AblationColumn::measured("parse F1-mean %", "f1", 2, true),
                  AblationColumn::measured("parse mIoU %", "miou", 2),
                  AblationColumn::measured("align NME % (lower is better)", "nme", 2),
                  AblationColumn::plain("seconds", "seconds")};
  spec.line_metrics = {"f1", "miou", "nme", "seconds"};
  spec.runs_metric = "f1";
  spec.chart_title = "FaRL-mini: face parsing F1-mean by pre-training and label fraction";
  spec.chart_from_zero = false;
  Run run(flags);
  std::map<std::string, Init> pretrained;  // by objective and seed
  spec.run_one = [&](const AblationArm& arm, uint64_t seed, const std::string& dir) {
    const std::string init = arm.name.substr(0, arm.name.find('-'));
    const double pct = std::stod(arm.name.substr(arm.name.find('-') + 1));
    Run sub("farl", "finetune", dir);
    const double t0 = sub.seconds();
    Init in;
    in.cfg = cfg;
    if (init != "random") {
      const std::string key = init + "-seed" + std::to_string(seed);
      if (!pretrained.count(key)) {
        PretrainOptions po = pretrain_options(flags, true);
        po.objective = init == "both" ? "itc+mim" : init;
        po.seed = seed;
        po.pictures = false;
        make_dirs(run.path("pretrain-" + key));
        Run pre("farl", "pretrain", run.path("pretrain-" + key));
        Pretrained p = pretrain(w.pretrain, w.val, tok, po, cfg, pre);
        pre.finish(p.metrics, false);
        pretrained[key] = Init{cfg, p.model};
      }
      in = pretrained.at(key);
    }
    FinetuneOptions o = finetune_options(flags, true);
    o.label_percent = pct;
    o.pictures = false;
    json::Value parse = finetune_and_picture("parse", in, w, o, sub, seed);
    Run sub_align("farl", "align", dir + "/align");
    json::Value align = finetune_and_picture("align", in, w, o, sub_align, seed);
    json::Value a = json::Value::object();
    a["f1"] = parse["f1"], a["miou"] = parse["miou"], a["nme"] = align["nme"];
    a["seconds"] = sub.seconds() - t0;
    return a;
  };
  spec.notes = [&] {
    PretrainOptions po = pretrain_options(flags, true);
    FinetuneOptions fo = finetune_options(flags, true);
    std::ostringstream md;
    md << "F1-mean over the 9 foreground labels and mIoU (face parsing) and NME normalised by the outer-eye-corner "
          "distance (face alignment), on " << w.test.size() << " test faces (identities disjoint from training). "
       << "Pre-training: " << w.pretrain.size() << " face-caption pairs, " << po.epochs << " epochs of batch "
       << po.batch_size << "; one pre-training per objective and seed (seconds count it in the first arm using it). "
       << "Fine-tuning: " << fo.epochs << " epochs of " << (w.labelled.size() + fo.batch_size - 1) / fo.batch_size
       << " steps (batch " << fo.batch_size << ") for every label fraction of the " << w.labelled.size()
       << " labelled faces.";
    return md.str();
  };
  run_ablation(flags, run, spec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags = make_flags();
  return app_main(flags, argc, argv, [](const Flags& f) {
    if (f.command() == "pretrain") return run_pretrain(f);
    if (f.command() == "parse" || f.command() == "align") return run_finetune(f);
    if (f.command() == "demo") return run_demo(f);
    return run_ablate(f);
  });
}
