// farl: fine-tuning for the dense tasks. A FarlVisual backbone (a pre-trained encoder's copy, or random init
// from the seed) + FPN adapters + UperNet-lite (models/farl_heads.h), trained on the first label_percent % of
// the labelled faces: parse with pixel cross-entropy on logits upsampled to 48 x 48; align with 14 heatmaps
// at 32 x 32, soft-argmax coordinates, L1 on coordinates (normalised by the heatmap side) + BCE against
// Gaussian heatmaps (losses/mim.h). Every label fraction gets the same number of steps (an "epoch" is one pass
// over the full labelled set's worth of batches, drawn from reshuffled passes over the subset), so the arms
// differ in labels only. Backbone lr = backbone_lr_factor x head lr (papers/farl.md 4.5).
// Metrics on the test split (metrics/): parse F1-mean over the 9 foreground classes, mIoU, pixel accuracy
// from one confusion histogram; align NME inter-ocular (outer eye corners, landmarks 0 and 6) and the
// failure rate at 10%.
// Leaves out: augmentation, EMA, the Tanh warping.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "apps/farl/farl.h"
#include "data/synth/items.h"
#include "losses/mim.h"
#include "metrics/landmarks.h"
#include "metrics/segmentation.h"

namespace iris::farl {

namespace {

bool no_decay(const std::string& name, const Tensor& p) {
  return p.dim() <= 1 || name.find("positional_embedding") != std::string::npos;
}

// The backbone parts a dense head never reads (the ITC projection and the MIM branch): not optimised.
bool unused_by_dense(const std::string& name) {
  for (const char* part : {"visual.ln_post", "visual.proj", "visual.mask_token", "visual.lm_", "visual.ln_lm"})
    if (name.rfind(part, 0) == 0) return true;
  return false;
}

struct DenseBatch {
  std::vector<int64_t> index;
};

Tensor head_logits(models::FarlDense& model, const std::string& task, const Tensor& images) {
  Tensor y = model.forward(images);
  if (task == "parse") y = interpolate(y, Size2(images.shape()[2], images.shape()[3]), InterpMode::bilinear, false);
  return y;
}

}  // namespace

Tensor cells_to_pixels(const Tensor& cells, int64_t heatmap, int64_t image) {
  return (cells + 0.5) * (static_cast<double>(image) / heatmap) - 0.5;
}
Tensor pixels_to_cells(const Tensor& pixels, int64_t heatmap, int64_t image) {
  return (pixels + 0.5) * (static_cast<double>(heatmap) / image) - 0.5;
}

FinetuneOptions finetune_options(const Flags& flags, bool ablate) {
  FinetuneOptions o;
  o.label_percent = flags.get_double("labels");
  IRIS_CHECK(o.label_percent > 0 && o.label_percent <= 100, "--labels ", o.label_percent,
             " is not a percentage of the labelled faces in (0, 100] (e.g. 1, 10 or 100)");
  o.epochs = flags.epochs();
  o.batch_size = flags.get_int("finetune-batch");
  o.lr = flags.get_double("head-lr");
  o.backbone_lr_factor = flags.get_double("backbone-lr-factor");
  o.weight_decay = flags.get_double("finetune-weight-decay");
  o.warmup_epochs = flags.get_double("warmup");
  o.clip_norm = flags.get_double("clip-norm");
  o.seed = flags.seed();
  o.device = flags.device();
  o.log_every = flags.get_int("log-every");
  o.eval_every_epochs = 0;
  o.stop_after_steps = flags.get_int("stop-after-steps");
  if (!ablate) o.resume = flags.resume();
  if (flags.quick()) {
    if (!flags.is_set("epochs")) o.epochs = 2;
    if (!flags.is_set("finetune-batch")) o.batch_size = 32;
    if (!flags.is_set("log-every")) o.log_every = 1;
    o.warmup_epochs = 0.25;
  }
  return o;
}

Finetuned finetune(const models::FarlConfig& cfg, const models::FarlVisual* visual, const FaceSet& labelled,
                   const FaceSet& test, const FinetuneOptions& o, Run& run) {
  IRIS_CHECK(o.task == "parse" || o.task == "align", "farl: unknown task '", o.task, "': use parse or align");
  const bool parse = o.task == "parse";
  Generator init_gen(o.seed);
  auto backbone = std::make_shared<models::FarlVisual>(cfg, &init_gen);
  if (visual) backbone->load_state_dict(visual->state_dict());  // copies the pre-trained values
  Finetuned out;
  out.model = std::make_shared<models::FarlDense>(
      backbone, o.head_channels, parse ? synth::face_label::count : synth::kNumFaceLandmarks, &init_gen);
  models::FarlDense& model = *out.model;
  const int64_t L = labelled.size();
  const int64_t n = std::max<int64_t>(1, std::llround(o.label_percent / 100.0 * L));
  out.train_faces = n;
  const int64_t B = std::max<int64_t>(1, std::min(o.batch_size, L));
  const int64_t S = cfg.img_size, H = 4 * cfg.grid();

  TrainTask<DenseBatch> task;
  task.model = &model;
  const double blr = o.lr * o.backbone_lr_factor;
  nn::ParamGroup bd{{}, blr, blr, o.weight_decay, "backbone"}, bp{{}, blr, blr, 0.0, "backbone_no_decay"};
  nn::ParamGroup hd{{}, o.lr, o.lr, o.weight_decay, "head"}, hp{{}, o.lr, o.lr, 0.0, "head_no_decay"};
  for (auto& [name, p] : model.named_parameters()) {
    if (unused_by_dense(name)) continue;
    const bool bb = name.rfind("visual.", 0) == 0;
    (bb ? (no_decay(name, p) ? bp : bd) : (no_decay(name, p) ? hp : hd)).params.push_back(p);
  }
  task.param_groups = {bd, bp, hd, hp};
  for (auto& g : task.param_groups) task.clip_params.insert(task.clip_params.end(), g.params.begin(), g.params.end());
  const int64_t steps = (L + B - 1) / B;
  task.batches.steps_per_epoch = steps;
  int64_t epoch = 0, next_step = 0;
  task.batches.start_epoch = [&](int64_t e, int64_t skip) { epoch = e, next_step = skip; };
  // the batch at (epoch, step): positions of reshuffled passes over the n training faces
  auto pass_order = [&](int64_t pass) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    synth::SynthRandom rng(o.seed, 0x70617373ull + static_cast<uint64_t>(pass));  // "pass"
    rng.shuffle(order);
    return order;
  };
  int64_t cached_pass = -1;
  std::vector<int64_t> cached;
  task.batches.next = [&](DenseBatch& b) {
    if (next_step >= steps) return false;
    b.index.clear();
    for (int64_t j = 0; j < B; ++j) {
      const int64_t pos = (epoch * steps + next_step) * B + j;
      if (pos / n != cached_pass) cached_pass = pos / n, cached = pass_order(cached_pass);
      b.index.push_back(cached[pos % n]);
    }
    ++next_step;
    return true;
  };
  task.step = [&](const DenseBatch& b, const StepInfo&) {
    StepOutput s;
    s.items = B;
    Tensor idx = from_vector(b.index);
    Tensor images = index_select(labelled.images, 0, idx).to(o.device);
    Tensor logits = head_logits(model, o.task, images);
    if (parse) {
      s.loss = cross_entropy(logits, index_select(labelled.masks, 0, idx).to(o.device));
    } else {
      Tensor truth = pixels_to_cells(index_select(labelled.landmarks, 0, idx), H, S);  // [B, 14, 2] cells
      Tensor target = losses::gaussian_heatmaps(truth, H, H, o.heatmap_sigma).to(o.device);
      Tensor coords = models::soft_argmax(logits);
      s.loss = losses::landmark_loss(coords / static_cast<double>(H), truth.to(o.device) / static_cast<double>(H),
                                     logits, target);
    }
    return s;
  };
  task.evaluate = [&](const EvalContext&) {
    out.metrics = evaluate_dense(model, o.task, test, o.device);
    return out.metrics;
  };
  TrainLoopOptions loop = o;
  loop.checkpoint_extra["task"] = o.task;
  loop.checkpoint_extra["labels"] = o.label_percent;
  loop.checkpoint_extra["config"] = config_to_json(cfg);
  TrainResult r = train_loop(task, loop, run);
  out.steps = r.steps;
  out.stopped_early = r.stopped_early;
  out.first_loss = r.first_loss(), out.final_loss = r.last_loss();
  model.eval();
  return out;
}

Tensor predict_dense(models::FarlDense& model, const std::string& task, const Tensor& images, Device device) {
  NoGradGuard ng;
  const int64_t N = images.shape()[0], S = model.visual->cfg.img_size, H = 4 * model.visual->cfg.grid();
  std::vector<Tensor> preds;
  for (int64_t i = 0; i < N; i += 64) {
    Tensor logits = head_logits(model, task, images.slice(0, i, std::min(N, i + 64)).to(device));
    preds.push_back(task == "parse" ? argmax(logits, 1).cpu() : cells_to_pixels(models::soft_argmax(logits).cpu(), H, S));
  }
  return cat(preds, 0).contiguous();
}

json::Value evaluate_dense(models::FarlDense& model, const std::string& task, const FaceSet& test, Device device,
                           Tensor* predictions) {
  const bool parse = task == "parse";
  const int64_t N = test.size(), S = model.visual->cfg.img_size;
  Tensor all = predict_dense(model, task, test.images, device);
  if (predictions) *predictions = all;
  json::Value m = json::Value::object();
  if (parse) {
    metrics::SegmentationHistogram hist(synth::face_label::count);
    const int64_t P = S * S;
    std::vector<int64_t> p = all.to(DType::i64).to_vector<int64_t>(), t = test.masks.to_vector<int64_t>();
    for (int64_t k = 0; k < N; ++k)
      hist.add(std::vector<int64_t>(p.begin() + k * P, p.begin() + (k + 1) * P),
               std::vector<int64_t>(t.begin() + k * P, t.begin() + (k + 1) * P));
    metrics::SegmentationScores sc = metrics::segmentation_scores(hist, 0);
    m["f1"] = 100 * sc.mean_f1, m["miou"] = 100 * sc.miou, m["pixel_acc"] = 100 * sc.pixel_accuracy;
  } else {
    std::vector<float> p = all.to_vector<float>(), t = test.landmarks.to_vector<float>();
    const int64_t Lm = synth::kNumFaceLandmarks;
    std::vector<double> nmes;
    for (int64_t k = 0; k < N; ++k) {
      std::vector<metrics::Point2> pp, tt;
      for (int64_t l = 0; l < Lm; ++l) {
        const int64_t o = (k * Lm + l) * 2;
        pp.push_back({p[o], p[o + 1]}), tt.push_back({t[o], t[o + 1]});
      }
      nmes.push_back(metrics::landmark_nme(pp, tt, metrics::inter_ocular_distance(tt, 0, 6)));
    }
    m["nme"] = 100 * std::accumulate(nmes.begin(), nmes.end(), 0.0) / static_cast<double>(N);
    m["fr10"] = 100 * metrics::failure_rate(nmes, 0.10);
  }
  return m;
}

}  // namespace iris::farl
