// farl: pre-training. The visual vocabulary is fitted first (k-means on 6x6x3 patches of the pre-training
// faces, from the seed); then each step takes B faces with a fresh caption each and a fresh BEiT block mask
// each (pure functions of (seed, epoch, face)), runs the FaRL pass ([clean; masked] batch for itc+mim) and
// minimises L = L_ITC + lambda L_MIM (losses/mim.h). The shared loop (apps/common/train_loop.h) does AdamW
// (no decay on biases, norms, embeddings, mask token, logit scale), warmup-cosine, clipping, checkpoints
// and exact resume. Validation: image->text retrieval top-1 over the val faces (ITC) and the token accuracy
// at masked positions (MIM).
// Leaves out: gathering negatives over devices, the dVAE tokenizer.
#include <algorithm>
#include <numeric>

#include "apps/farl/farl.h"
#include "data/block_mask.h"
#include "data/visual_tokens.h"
#include "losses/contrastive.h"
#include "losses/mim.h"

namespace iris::farl {

namespace {

bool no_decay(const std::string& name, const Tensor& p) {
  if (p.dim() <= 1) return true;
  for (const std::string suffix : {"positional_embedding", "token_embedding.weight", "mask_token"})
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), std::string::npos, suffix) == 0)
      return true;
  return false;
}

struct PairBatch {
  std::vector<int64_t> index;      // B faces
  std::vector<std::string> texts;  // B captions
  Tensor mask;                     // f32 [B, N]
};

std::string caption_of(const synth::FaceFactors& f, uint64_t seed, int64_t epoch, int64_t i) {
  Generator g(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) * 1000003ull + static_cast<uint64_t>(i));
  return synth::face_caption(f, g).text;
}

Tensor masks_of(const std::vector<int64_t>& index, int64_t grid, int64_t count, uint64_t seed, int64_t epoch) {
  data::BlockMaskConfig mc;
  mc.height = mc.width = grid;
  mc.num_masking = count;
  std::vector<float> m;
  for (int64_t i : index) {
    synth::SynthRandom rng(seed + 0x6d61736bull * static_cast<uint64_t>(epoch + 1), static_cast<uint64_t>(i));
    for (uint8_t v : data::block_mask(mc, rng)) m.push_back(v);
  }
  return from_vector(m, {static_cast<int64_t>(index.size()), grid * grid});
}

Tensor tokens_of(const Tensor& images, const Tensor& centroids, int64_t patch) {
  Tensor p = data::image_patches(images, patch);  // [N, n, D]
  const int64_t N = p.shape()[0], n = p.shape()[1];
  return data::kmeans_assign(p.reshape({N * n, p.shape()[2]}), centroids).reshape({N, n});
}

}  // namespace

bool objective_has_itc(const std::string& o) { return o == "itc" || o == "itc+mim"; }
bool objective_has_mim(const std::string& o) { return o == "mim" || o == "itc+mim"; }

PretrainOptions pretrain_options(const Flags& flags, bool ablate) {
  PretrainOptions o;
  o.objective = flags.get_string("objective");
  IRIS_CHECK(o.objective == "itc" || o.objective == "mim" || o.objective == "itc+mim", "unknown --objective '",
             o.objective, "': use itc, mim or itc+mim");
  o.epochs = static_cast<int>(flags.get_int("pretrain-epochs"));
  o.batch_size = flags.batch_size();
  o.lr = flags.lr();
  o.weight_decay = flags.get_double("weight-decay");
  o.warmup_epochs = flags.get_double("warmup");
  o.clip_norm = flags.get_double("clip-norm");
  o.seed = flags.seed();
  o.device = flags.device();
  o.log_every = flags.get_int("log-every");
  o.mim_weight = flags.get_double("mim-weight");
  o.mask_patches = flags.get_int("mask-patches");
  o.eval_every_epochs = 0;
  o.bar_label = "pretrain " + o.objective;
  o.curves_title = "farl pretrain " + o.objective;
  o.stop_after_steps = flags.get_int("stop-after-steps");
  IRIS_CHECK(!ablate || o.stop_after_steps < 0, "farl ablate: --stop-after-steps is for pretrain/parse/align");
  if (!ablate) o.resume = flags.resume();
  if (flags.quick()) {
    if (!flags.is_set("pretrain-epochs")) o.epochs = 2;
    if (!flags.is_set("batch-size")) o.batch_size = 64;
    if (!flags.is_set("log-every")) o.log_every = 1;
    o.warmup_epochs = 0.25;
    o.kmeans_iterations = 4;
    o.kmeans_points = 8192;
  }
  return o;
}

Pretrained pretrain(const FaceSet& train, const FaceSet& val, const text::Tokenizer& tok, const PretrainOptions& o,
                    const models::FarlConfig& cfg, Run& run) {
  const bool itc = objective_has_itc(o.objective), mim = objective_has_mim(o.objective);
  const int64_t N = train.size(), grid = cfg.grid(), P = cfg.patch;
  Pretrained out;
  // the visual vocabulary: k-means on patches drawn (by the seed) from the pre-training faces
  {
    Tensor patches = data::image_patches(train.images, P);
    patches = patches.reshape({N * patches.shape()[1], patches.shape()[2]});
    std::vector<int64_t> rows(static_cast<size_t>(patches.shape()[0]));
    std::iota(rows.begin(), rows.end(), int64_t{0});
    synth::SynthRandom rng(o.seed, 0x766f636162ull);  // "vocab"
    rng.shuffle(rows);
    rows.resize(static_cast<size_t>(std::min<int64_t>(o.kmeans_points, patches.shape()[0])));
    out.centroids = data::kmeans_fit(index_select(patches, 0, from_vector(rows)), cfg.vocab, o.kmeans_iterations,
                                     o.seed);
    data::save_visual_tokens(run.path("visual_tokens.safetensors"), out.centroids, P);
  }
  const Tensor train_tokens = tokens_of(train.images, out.centroids, P);  // i64 [N, n]
  const Tensor val_tokens = tokens_of(val.images, out.centroids, P);

  Generator init_gen(o.seed);
  out.model = std::make_shared<models::Farl>(cfg, &init_gen);
  models::Farl& model = *out.model;
  const int64_t B = std::max<int64_t>(2, std::min(o.batch_size, N));
  const int64_t ctx = cfg.text.context_length;

  TrainTask<PairBatch> task;
  task.model = &model;
  nn::ParamGroup decay{{}, o.lr, o.lr, o.weight_decay, "decay"}, plain{{}, o.lr, o.lr, 0.0, "no_decay"};
  for (auto& [name, p] : model.named_parameters()) (no_decay(name, p) ? plain : decay).params.push_back(p);
  task.param_groups = {decay, plain};
  task.batches.steps_per_epoch = N / B;
  std::vector<int64_t> order(static_cast<size_t>(N));
  int64_t epoch = 0, next_step = 0;
  task.batches.start_epoch = [&](int64_t e, int64_t skip) {
    epoch = e;
    std::iota(order.begin(), order.end(), int64_t{0});
    synth::SynthRandom rng(o.seed, 0x6f72646572ull + static_cast<uint64_t>(e));
    rng.shuffle(order);
    next_step = skip;
  };
  task.batches.next = [&](PairBatch& b) {
    if (next_step >= N / B) return false;
    b.index.assign(order.begin() + next_step * B, order.begin() + (next_step + 1) * B);
    ++next_step;
    b.texts.clear();
    if (itc)
      for (int64_t i : b.index) b.texts.push_back(caption_of(train.factors[i], o.seed, epoch, i));
    b.mask = mim ? masks_of(b.index, grid, o.mask_patches, o.seed, epoch) : Tensor();
    return true;
  };
  task.step = [&](const PairBatch& b, const StepInfo&) {
    StepOutput s;
    s.items = B;
    Tensor idx = from_vector(b.index);
    Tensor images = index_select(train.images, 0, idx).to(o.device);
    Tensor ids, eot;
    if (itc) {
      text::TokenBatch t = tok.encode_batch(b.texts, ctx);
      ids = t.ids.to(o.device), eot = t.end_index.to(o.device);
    }
    Tensor mask = mim ? b.mask.to(o.device) : Tensor();
    models::FarlPretrainOutput f = model.forward_pretrain(images, mask, ids, eot, itc, mim);
    Tensor loss;
    if (itc) {
      Tensor scale = model.logit_scale();
      loss = losses::clip_loss(f.image_emb, f.text_emb, scale, true);
      s.parts["itc"] = loss.item();
      s.parts["logit_scale"] = scale.item();
    }
    if (mim) {
      Tensor l = losses::masked_token_loss(f.mim_logits, index_select(train_tokens, 0, idx).to(o.device), mask);
      s.parts["mim"] = l.item();
      loss = loss.defined() ? loss + o.mim_weight * l : l;
    }
    s.loss = loss;
    return s;
  };
  task.evaluate = [&](const EvalContext&) {
    NoGradGuard ng;
    json::Value m = json::Value::object();
    const int64_t V = val.size();
    std::vector<int64_t> all(static_cast<size_t>(V));
    std::iota(all.begin(), all.end(), int64_t{0});
    Tensor images = val.images.to(o.device);
    if (itc) {  // image -> text retrieval among the val faces, one fixed caption each
      std::vector<std::string> texts;
      for (int64_t i = 0; i < V; ++i) texts.push_back(caption_of(val.factors[i], 7, 0, i));
      text::TokenBatch t = tok.encode_batch(texts, ctx);
      Tensor img = model.visual->encode(images), txt = model.encode_text(t.ids.to(o.device), t.end_index.to(o.device));
      std::vector<int64_t> best = argmax(matmul(img, txt.t()), 1).cpu().to_vector<int64_t>();
      int64_t right = 0;
      for (int64_t i = 0; i < V; ++i) right += best[i] == i;
      m["retrieval_top1"] = 100.0 * right / V;
      out.metrics["retrieval_top1"] = m["retrieval_top1"];
    }
    if (mim) {  // token accuracy at the masked positions of fixed masks
      Tensor mask = masks_of(all, grid, o.mask_patches, 7, 0);
      Tensor logits = model.visual->mim_logits(model.visual->run_blocks(model.visual->embed(images, mask.to(o.device))));
      std::vector<int64_t> pred = argmax(logits, 2).cpu().to_vector<int64_t>();
      std::vector<int64_t> truth = val_tokens.to_vector<int64_t>();
      std::vector<float> mv = mask.to_vector<float>();
      int64_t right = 0, total = 0;
      for (size_t k = 0; k < pred.size(); ++k)
        if (mv[k] != 0) ++total, right += pred[k] == truth[k];
      m["token_acc"] = 100.0 * right / std::max<int64_t>(1, total);
      out.metrics["token_acc"] = m["token_acc"];
    }
    return m;
  };
  TrainLoopOptions loop = o;
  loop.checkpoint_extra["objective"] = o.objective;
  loop.checkpoint_extra["config"] = config_to_json(cfg);
  TrainResult r = train_loop(task, loop, run);
  out.steps = r.steps;
  out.stopped_early = r.stopped_early;
  out.first_loss = r.first_loss(), out.final_loss = r.last_loss();
  model.eval();
  return out;
}

}  // namespace iris::farl
