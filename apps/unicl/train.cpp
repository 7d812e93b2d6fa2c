// unicl: one training run. Each batch pairs B pictures with B texts: a fresh random prompt of the class
// for an image-label sample (label = class id), a fresh caption for an image-text sample (a label of its
// own, outside the class range). Losses: unicl (targets from the labels, losses/contrastive.h), clip
// (identity targets), ce (a linear head on the pooled image features; no text tower).
// AdamW with linear warmup and cosine decay; no weight decay on biases, norms, embeddings and the logit scale.
// Leaves out: resuming (runs take minutes), gathering negatives over devices.
#include <cmath>
#include <iostream>

#include "apps/common/plot.h"
#include "apps/common/progress.h"
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

}  // namespace

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
  if (flags.quick()) {
    if (!flags.is_set("epochs")) o.epochs = 2;
    if (!flags.is_set("batch-size")) o.batch_size = 64;
    if (!flags.is_set("log-every")) o.log_every = 1;
    o.warmup_epochs = 0.25;
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
  t.model->to(o.device);
  if (t.head) t.head->to(o.device);
  t.model->train();
  nn::AdamW optimizer(param_groups(*t.model, t.head.get(), ce, o.lr, o.weight_decay));
  const int64_t B = std::max<int64_t>(1, std::min(o.batch_size, N));
  const int64_t steps_per_epoch = N / B;  // drop_last: every batch is full (B same-class positives matter)
  const int64_t total = std::max<int64_t>(1, steps_per_epoch * o.epochs);
  nn::LrSchedule schedule = nn::LrSchedule::warmup_cosine_schedule(
      static_cast<int64_t>(std::lround(o.warmup_epochs * steps_per_epoch)), total, 0.01);
  const int64_t ctx = t.model->cfg.text.context_length;
  ProgressBar bar(o.epochs, steps_per_epoch, o.loss + "/" + o.mix,
                  o.progress ? ProgressBar::Mode::automatic : ProgressBar::Mode::off);
  int64_t step = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    bar.start_epoch(epoch);
    // the epoch's order: a seeded shuffle
    synth::SynthRandom order_rng(o.seed, (0x5eedull << 32) + static_cast<uint64_t>(epoch));
    std::vector<int64_t> order(N);
    for (int64_t i = 0; i < N; ++i) order[i] = i;
    order_rng.shuffle(order);
    for (int64_t s = 0; s < steps_per_epoch; ++s, ++step) {
      std::vector<int64_t> idx(order.begin() + s * B, order.begin() + (s + 1) * B);
      std::vector<std::string> texts;
      std::vector<int64_t> batch_labels;
      const int64_t K = static_cast<int64_t>(bed.classes.size());
      for (int64_t j = 0; j < B; ++j) {
        const int64_t i = idx[j];
        // text randomness: a pure function of (seed, epoch, sample)
        synth::SynthRandom rng(o.seed + 7919ull * epoch, static_cast<uint64_t>(i));
        if (labels[i] >= 0) {
          texts.push_back(text::sample_prompt(bed.classes[labels[i]], rng));
          batch_labels.push_back(labels[i]);
        } else {
          texts.push_back(synth::shape_caption(bed.caption_factors[i], rng));
          batch_labels.push_back(K + j);  // a label of its own (unique in the batch)
        }
      }
      Tensor images = index_select(bed.train_images, 0, from_vector(idx)).to(o.device);
      Tensor y = from_vector(batch_labels).to(o.device);
      optimizer.set_lr_factor(schedule.factor(step));
      Tensor loss;
      if (ce) {
        loss = cross_entropy(t.head->forward(t.model->image_features(images)), y);
      } else {
        text::TokenBatch tok = tokenizer.encode_batch(texts, ctx);
        Tensor img = t.model->encode_image(images);
        Tensor txt = t.model->encode_text(tok.ids.to(o.device), tok.end_index.to(o.device));
        loss = o.loss == "unicl" ? losses::unicl_loss(img, txt, y, t.model->logit_scale())
                                 : losses::clip_loss(img, txt, t.model->logit_scale());
      }
      optimizer.zero_grad();
      loss.backward();
      if (o.clip_norm > 0) {
        std::vector<Tensor> params;
        for (auto& g : optimizer.param_groups()) params.insert(params.end(), g.params.begin(), g.params.end());
        nn::clip_grad_norm_(params, o.clip_norm);
      }
      optimizer.step();
      const double value = loss.item();
      IRIS_CHECK(std::isfinite(value), "unicl: the loss became ", value, " at step ", step,
                 "; lower --lr or raise --warmup");
      if (step == 0) t.first_loss = value;
      t.final_loss = value;
      bar.step(value, B);
      if (o.log_every > 0 && step % o.log_every == 0) {
        json::Value rec = json::Value::object();
        rec["step"] = step;
        rec["epoch"] = (epoch - 1) + static_cast<double>(s + 1) / steps_per_epoch;
        rec["loss"] = value;
        rec["lr"] = optimizer.lr();
        if (!ce) rec["logit_scale"] = t.model->logit_scale().item();
        run.log(rec);
      }
    }
    bar.end_epoch();
  }
  t.steps = step;
  t.model->eval();
  if (t.head) t.head->eval();
  return t;
}

}  // namespace iris::unicl
