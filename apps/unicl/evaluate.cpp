// unicl: evaluation (papers/unicl.md 3.4): the prompt-ensemble text classifier (per class the mean of the
// normalised embeddings of every template x synonym, renormalised), zero-shot accuracy over the held-out
// (colour, shape) pairs, and a linear probe (logistic regression with AdamW on frozen, standardised
// pooled features), and the model config from the flags. Leaves out: top-5 metrics in the JSON.
#include <algorithm>
#include <cmath>

#include "apps/unicl/unicl.h"
#include "data/text/corpus.h"
#include "metrics/classification.h"
#include "nn/optim.h"

namespace iris::unicl {

namespace {
constexpr int64_t kEvalBatch = 500;

// Runs fn on row blocks of x (no grad) and stacks the CPU results.
template <class Fn>
Tensor by_blocks(const Tensor& x, Device device, Fn fn) {
  NoGradGuard ng;
  std::vector<Tensor> parts;
  const int64_t N = x.shape()[0];
  for (int64_t i = 0; i < N; i += kEvalBatch)
    parts.push_back(fn(x.slice(0, i, std::min(N, i + kEvalBatch)).to(device)).cpu());
  IRIS_CHECK(!parts.empty(), "unicl: no pictures to evaluate");
  return cat(parts, 0);
}
}  // namespace

// ---- embeddings and classifiers ---------------------------------------------------------------------

Tensor embed_images(models::DualEncoder& model, const Tensor& images, Device device) {
  return by_blocks(images, device, [&](const Tensor& x) { return model.encode_image(x); });
}

Tensor image_features(models::DualEncoder& model, const Tensor& images, Device device) {
  return by_blocks(images, device, [&](const Tensor& x) { return model.image_features(x); });
}

Tensor embed_texts(models::DualEncoder& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                   Device device) {
  NoGradGuard ng;
  std::vector<Tensor> parts;
  for (size_t i = 0; i < texts.size(); i += kEvalBatch) {
    std::vector<std::string> block(texts.begin() + i, texts.begin() + std::min(texts.size(), i + kEvalBatch));
    text::TokenBatch tok = tokenizer.encode_batch(block, model.cfg.text.context_length);
    parts.push_back(model.encode_text(tok.ids.to(device), tok.end_index.to(device)).cpu());
  }
  IRIS_CHECK(!parts.empty(), "unicl: no texts to embed");
  return cat(parts, 0);
}

const std::vector<std::string>& quick_templates() {
  static const std::vector<std::string> t(text::prompt_templates().begin(),
                                          text::prompt_templates().begin() +
                                              std::min<size_t>(12, text::prompt_templates().size()));
  return t;
}

Tensor text_classifier(models::DualEncoder& model, const text::Tokenizer& tokenizer,
                       const std::vector<text::ClassSynonyms>& classes, Device device,
                       const std::vector<std::string>& templates) {
  std::vector<std::string> texts;
  std::vector<int64_t> counts;
  for (const text::ClassSynonyms& c : classes) {
    std::vector<std::string> e = text::prompt_ensemble(c, templates);
    texts.insert(texts.end(), e.begin(), e.end());
    counts.push_back(static_cast<int64_t>(e.size()));
  }
  Tensor emb = embed_texts(model, tokenizer, texts, device);  // [sum counts, E]
  std::vector<Tensor> rows = split(emb, counts, 0);
  std::vector<Tensor> means;
  for (const Tensor& r : rows) means.push_back(mean(r, {0}));
  return normalize(stack(means, 0), 2.0, 1);  // [K, E]
}

double linear_probe(const Tensor& train_x, const Tensor& train_y, const Tensor& test_x, const Tensor& test_y,
                    int64_t classes, int steps, Device device) {
  IRIS_CHECK(train_x.dim() == 2 && test_x.dim() == 2 && train_x.shape()[1] == test_x.shape()[1],
             "linear_probe: features must be [N, F] with the same F");
  // standardise with the training statistics
  Tensor mu = mean(train_x, {0}, true), sd = stddev(train_x, {0}, false, true) + 1e-6;
  Tensor xtr = ((train_x - mu) / sd).to(device), xte = ((test_x - mu) / sd).to(device);
  Tensor ytr = train_y.to(device);
  Generator gen(1234);
  nn::Linear probe(train_x.shape()[1], classes, true, &gen);
  probe.to(device);
  nn::AdamW opt({nn::ParamGroup{{probe.weight}, 0.01, 0.01, 1e-3, "decay"},
                 nn::ParamGroup{{probe.bias}, 0.01, 0.01, 0.0, "no_decay"}});
  for (int s = 0; s < steps; ++s) {  // full batch: the features are small
    opt.set_lr_factor(0.5 * (1 + std::cos(3.14159265358979 * s / steps)));
    Tensor loss = cross_entropy(probe.forward(xtr), ytr);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  NoGradGuard ng;
  return metrics::top1_percent(probe.forward(xte).cpu(), test_y);
}

Metrics evaluate(Trained& t, const Testbed& bed, const text::Tokenizer& tokenizer, Device device, bool quick) {
  models::DualEncoder& model = *t.model;
  model.eval();
  Metrics m;
  const std::vector<std::string> templates = quick ? quick_templates() : std::vector<std::string>();
  if (t.head) {
    NoGradGuard ng;
    Tensor feats = image_features(model, bed.test_images, device);
    m.top1 = metrics::top1_percent(t.head->forward(feats.to(device)).cpu(), bed.test_labels);
  } else {
    Tensor w = text_classifier(model, tokenizer, bed.classes, device, templates);
    m.top1 = metrics::top1_percent(matmul(embed_images(model, bed.test_images, device), w.t()), bed.test_labels);
  }
  m.probe = linear_probe(image_features(model, bed.probe_train_images, device), bed.probe_train_labels,
                         image_features(model, bed.probe_test_images, device), bed.probe_test_labels,
                         static_cast<int64_t>(bed.probe_classes.size()), quick ? 100 : 300, device);
  if (bed.zeroshot_images.defined() && !t.head) {
    Tensor w = text_classifier(model, tokenizer, bed.zeroshot_classes, device, templates);
    m.zeroshot =
        metrics::top1_percent(matmul(embed_images(model, bed.zeroshot_images, device), w.t()), bed.zeroshot_labels);
  }  // a CE head has no text side: no zero-shot classifier (zeroshot stays -1)
  return m;
}

// ---- the model config -------------------------------------------------------------------------------

models::DualEncoderConfig model_config(const Testbed& bed, int64_t vocab_size, const Flags& flags) {
  models::DualEncoderConfig c;
  c.image = flags.get_string("image");
  c.img_size = bed.img_size, c.in_chans = bed.in_chans;
  c.embed_dim = flags.get_int("embed-dim");
  c.text.vocab_size = vocab_size;
  c.text.context_length = flags.get_int("context");
  c.text.width = flags.get_int("text-width");
  c.text.layers = flags.get_int("text-layers");
  c.text.heads = flags.get_int("text-heads");
  c.text.embed_dim = c.embed_dim;
  return c;
}

}  // namespace iris::unicl
