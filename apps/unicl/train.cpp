// unicl: one training run. Each batch pairs B pictures with B texts: a fresh random prompt of the class
// for an image-label sample (label = class id), a fresh caption for an image-text sample (a label of its
// own, outside the class range). Losses: unicl (targets from the labels, losses/contrastive.h), clip
// (identity targets), ce (a linear head on the pooled image features; no text tower).
// The shared loop (apps/common/train_loop.h) runs it: AdamW with linear warmup and cosine decay (no weight decay on
// biases, norms, embeddings and the logit scale), clipping, metrics.jsonl, checkpoints and --resume; each epoch's
// order and every text are pure functions of (seed, epoch, sample), so a resumed run sees the same batches.
// Leaves out: gathering negatives over devices.
#include <numeric>

#include "apps/unicl/unicl.h"
#include "losses/contrastive.h"
#include "nn/optim.h"

namespace iris::unicl {

namespace {

// Parameters without weight decay: 0/1-D tensors (biases, norms, the logit scale) and embeddings.
bool no_decay(const std::string& name, const Tensor& p) {
  if (p.dim() <= 1) return true;
  for (const char* suffix : {"token_embedding.weight", "positional_embedding", "pos_embed", "cls_token", "logit_scale"})
    if (name.size() >= std::string(suffix).size() && name.compare(name.size() - std::string(suffix).size(),
                                                                  std::string::npos, suffix) == 0)
      return true;
  return false;
}

std::vector<nn::ParamGroup> param_groups(const models::DualEncoder& model, const nn::Linear* head, bool image_only,
                                         double lr, double weight_decay) {
  nn::ParamGroup decay{{}, lr, lr, weight_decay, "decay"}, plain{{}, lr, lr, 0.0, "no_decay"};
  for (auto& [name, p] : model.named_parameters()) {
    bool image_part = name.rfind("visual.", 0) == 0 || name.rfind("vit.", 0) == 0 || name.rfind("davit.", 0) == 0 ||
                      name.rfind("resnet.", 0) == 0;
    if (image_only && !image_part) continue;  // the CE arm trains the backbone and its head only
    (no_decay(name, p) ? plain : decay).params.push_back(p);
  }
  if (head) decay.params.push_back(head->weight), plain.params.push_back(head->bias);
  std::vector<nn::ParamGroup> out;
  for (auto* g : {&decay, &plain})
    if (!g->params.empty()) out.push_back(*g);
  return out;
}

// What a checkpoint holds: the dual encoder ("model.encoder.<name>") and the CE arm's head ("model.head.<name>").
class ArmModules : public nn::Module {
 public:
  ArmModules(const std::shared_ptr<models::DualEncoder>& encoder, const std::shared_ptr<nn::Linear>& head)
      : nn::Module("UniclArm") {
    register_module("encoder", encoder);
    if (head) register_module("head", head);
  }
};

// B pictures with their texts: a prompt of the class for image-label samples, a caption for image-text ones.
struct PairBatch {
  Tensor images;                   // [B, C, H, W] on the CPU
  std::vector<std::string> texts;  // B
  std::vector<int64_t> labels;     // B: the class, or K + row for a caption (a label of its own in the batch)
};

}  // namespace

json::Value metrics_json(const Metrics& m) {
  json::Value v = json::Value::object();
  v["top1"] = m.top1;
  v["probe"] = m.probe;
  if (m.zeroshot >= 0) v["zeroshot"] = m.zeroshot;
  return v;
}

TrainOptions train_options(const Flags& flags, bool ablate) {
  TrainOptions o;
  o.loss = flags.get_string("loss");
  o.mix = flags.get_string("mix");
  o.epochs = flags.epochs();
  o.batch_size = flags.batch_size();
  o.lr = flags.lr();
  o.weight_decay = flags.get_double("weight-decay");
  o.warmup_epochs = flags.get_double("warmup");
  o.clip_norm = flags.get_double("clip-norm");
  o.seed = flags.seed();
  o.device = flags.device();
  o.log_every = flags.get_int("log-every");
  o.eval_every_epochs = 0;  // evaluated after the last epoch only
  o.bar_label = o.loss + "/" + o.mix;
  o.curves_title = "unicl " + o.loss + " / " + o.mix;
  if (flags.has("stop-after-steps")) o.stop_after_steps = flags.get_int("stop-after-steps");
  IRIS_CHECK(!ablate || o.stop_after_steps < 0, "unicl ablate: --stop-after-steps is for unicl train (to test "
             "--resume); ablate runs every arm to the end");
  if (!ablate) o.resume = flags.resume();
  if (flags.quick()) {
    if (!flags.is_set("epochs")) o.epochs = 2;
    if (!flags.is_set("batch-size")) o.batch_size = 64;
    if (!flags.is_set("log-every")) o.log_every = 1;
    if (!flags.is_set("warmup")) o.warmup_epochs = 0.25;
  }
  IRIS_CHECK(o.loss == "unicl" || o.loss == "clip" || o.loss == "ce", "unknown --loss '", o.loss,
             "': use unicl, clip or ce");
  return o;
}

Trained train_arm(const Testbed& bed, const text::Tokenizer& tokenizer, const TrainOptions& o, const Flags& flags,
                  Run& run) {
  const int64_t N = bed.train_images.shape()[0];
  const bool ce = o.loss == "ce";
  std::vector<int64_t> labels = bed.train_labels.to_vector<int64_t>();
  if (ce)
    for (int64_t y : labels)
      IRIS_CHECK(y >= 0, "--loss ce needs class labels for every picture: use --mix label (captions have no class)");
  Generator init_gen(o.seed);
  Trained t;
  t.loss = o.loss, t.mix = o.mix;
  t.model = std::make_shared<models::DualEncoder>(model_config(bed, tokenizer.vocab_size(), flags), &init_gen);
  if (ce)
    t.head = std::make_shared<nn::Linear>(t.model->image_feature_dim(), static_cast<int64_t>(bed.classes.size()), true,
                                          &init_gen);
  ArmModules arm(t.model, t.head);
  const int64_t B = std::max<int64_t>(1, std::min(o.batch_size, N));
  const int64_t K = static_cast<int64_t>(bed.classes.size());
  const int64_t ctx = t.model->cfg.text.context_length;

  TrainTask<PairBatch> task;
  task.model = &arm;
  task.param_groups = param_groups(*t.model, t.head.get(), ce, o.lr, o.weight_decay);
  for (auto& g : task.param_groups)  // the norm is summed in group order, as unicl always has
    task.clip_params.insert(task.clip_params.end(), g.params.begin(), g.params.end());
  task.batches.steps_per_epoch = N / B;  // drop_last: every batch is full (B same-class positives matter)
  std::vector<int64_t> order(N);
  int64_t epoch = 0, next_step = 0;      // epoch 1-based, as the seeds below have always counted
  task.batches.start_epoch = [&](int64_t e, int64_t skip) {
    epoch = e + 1;
    std::iota(order.begin(), order.end(), int64_t{0});
    synth::SynthRandom order_rng(o.seed, (0x5eedull << 32) + static_cast<uint64_t>(epoch));  // the epoch's order
    order_rng.shuffle(order);
    next_step = skip;
  };
  task.batches.next = [&](PairBatch& b) {
    if (next_step >= N / B) return false;
    std::vector<int64_t> idx(order.begin() + next_step * B, order.begin() + (next_step + 1) * B);
    ++next_step;
    b.texts.clear(), b.labels.clear();
    for (int64_t j = 0; j < B; ++j) {
      const int64_t i = idx[j];
      synth::SynthRandom rng(o.seed + 7919ull * epoch, static_cast<uint64_t>(i));  // a function of (seed, epoch, sample)
      if (labels[i] >= 0) {
        b.texts.push_back(text::sample_prompt(bed.classes[labels[i]], rng));
        b.labels.push_back(labels[i]);
      } else {
        b.texts.push_back(synth::shape_caption(bed.caption_factors[i], rng));
        b.labels.push_back(K + j);
      }
    }
    b.images = index_select(bed.train_images, 0, from_vector(idx));
    return true;
  };
  task.step = [&](const PairBatch& b, const StepInfo&) {
    StepOutput out;
    out.items = B;
    Tensor images = b.images.to(o.device), y = from_vector(b.labels).to(o.device);
    if (ce) {
      out.loss = cross_entropy(t.head->forward(t.model->image_features(images)), y);
      return out;
    }
    text::TokenBatch tok = tokenizer.encode_batch(b.texts, ctx);
    Tensor img = t.model->encode_image(images);
    Tensor txt = t.model->encode_text(tok.ids.to(o.device), tok.end_index.to(o.device));
    Tensor scale = t.model->logit_scale();
    out.loss = o.loss == "unicl" ? losses::unicl_loss(img, txt, y, scale) : losses::clip_loss(img, txt, scale);
    out.parts["logit_scale"] = scale.item();  // the scale this step's loss used
    return out;
  };
  task.evaluate = [&](const EvalContext&) {
    t.metrics = evaluate(t, bed, tokenizer, o.device, flags.quick());
    return metrics_json(t.metrics);
  };
  TrainLoopOptions loop = o;
  loop.checkpoint_extra["loss"] = o.loss, loop.checkpoint_extra["mix"] = o.mix, loop.checkpoint_extra["data"] = bed.data;
  TrainResult r = train_loop(task, loop, run);
  t.steps = r.steps;
  t.stopped_early = r.stopped_early;
  t.first_loss = r.first_loss(), t.final_loss = r.last_loss();
  arm.eval();
  return t;
}

}  // namespace iris::unicl
