// unicl app, shared pieces: the two testbeds of papers/unicl.md 3.6 as in-memory data, one training run
// of a dual encoder (UniCL, CLIP or cross-entropy loss) on the shared loop (apps/common/train_loop.h:
// checkpoints, --resume), and the evaluations (prompt-ensemble text classifier, zero-shot, linear probe).
// main.cpp holds the commands.
// Leaves out: data other than Fashion-MNIST and the SHAPES world, multi-GPU; mixed precision is app_main's --amp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/common/flags.h"
#include "apps/common/run.h"
#include "apps/common/train_loop.h"
#include "data/synth/shapes.h"
#include "data/text/prompts.h"
#include "data/text/tokenizer.h"
#include "models/dual_encoder.h"
#include "nn/layers.h"

namespace iris::unicl {

// ---- data -------------------------------------------------------------------------------------

struct Sizes {  // how many pictures each part of a testbed holds
  int64_t fmnist_train = 20000, fmnist_test = 10000;
  int64_t shapes_label = 10000, shapes_text = 10000, shapes_test = 2000;
  int64_t probe_train = 5000;  // training pictures of the linear probe
};
Sizes sizes_from(const Flags& flags, bool ablate);

// Every picture as normalised f32 [N, C, H, W] on the CPU.
struct Testbed {
  std::string data;                       // "fmnist" or "shapes"
  int64_t img_size = 28, in_chans = 1;
  std::vector<double> mean, std;          // per channel normalisation, applied already
  // training pairs: label >= 0: image-label sample of that class (texts are prompts of its names);
  // label -1: image-text sample with caption_factors[i] (captions drawn afresh every epoch)
  Tensor train_images, train_labels;      // [N, C, H, W], i64 [N]
  std::vector<synth::ShapeFactors> caption_factors;  // [N] (shapes only)
  std::vector<text::ClassSynonyms> classes;          // the label classes (fmnist 10, shapes 6)
  // label metric: test pictures and their class
  Tensor test_images, test_labels;
  // linear probe: fmnist classes, shapes colours
  Tensor probe_train_images, probe_train_labels, probe_test_images, probe_test_labels;
  std::vector<std::string> probe_classes;
  // shapes only: the held-out (colour, shape) pictures, label colour * 6 + shape, and the 48 classes
  Tensor zeroshot_images, zeroshot_labels;
  std::vector<text::ClassSynonyms> zeroshot_classes;
  std::vector<synth::ShapeFactors> test_factors, zeroshot_factors;  // shapes: attributes of the test pictures
};

// mix: label (image-label only), text (image-caption only, shapes), both (their union, shapes).
Testbed load_testbed(const std::string& data, const std::string& mix, const Flags& flags, const Sizes& sizes);

// ---- the model --------------------------------------------------------------------------------

models::DualEncoderConfig model_config(const Testbed& bed, int64_t vocab_size, const Flags& flags);
json::Value config_to_json(const models::DualEncoderConfig& cfg);
models::DualEncoderConfig config_from_json(const json::Value& v);

struct Metrics {
  double top1 = 0, probe = 0, zeroshot = -1;  // percent; zeroshot -1: not measured (fmnist)
};
json::Value metrics_json(const Metrics& m);  // {"top1", "probe", "zeroshot" (when measured)}

struct Trained {
  std::shared_ptr<models::DualEncoder> model;
  std::shared_ptr<nn::Linear> head;   // cross-entropy arm only: pooled features -> classes
  std::string loss, mix;
  double first_loss = 0, final_loss = 0;  // the first and last step's loss of this process
  int64_t steps = 0;                      // steps done (with those before a resume)
  Metrics metrics;                        // evaluated after the last epoch (not when stopped early)
  bool stopped_early = false;             // --stop-after-steps reached: checkpointed, not evaluated
};

// The loop's options (epochs, lr, decay, warmup, clipping, log_every, resume, stop_after_steps, device, ...)
// and the arm's.
struct TrainOptions : TrainLoopOptions {
  std::string loss = "unicl", mix = "label";
  int64_t batch_size = 256;
  uint64_t seed = 0;  // the data order and the texts
};
TrainOptions train_options(const Flags& flags, bool ablate);

// Trains one arm through the shared loop and evaluates it after the last epoch (evaluate below): writes
// metrics.jsonl, curves.png and checkpoints/last.safetensors into the run folder.
Trained train_arm(const Testbed& bed, const text::Tokenizer& tokenizer, const TrainOptions& opts, const Flags& flags,
                  Run& run);

// ---- evaluation -------------------------------------------------------------------------------

Metrics evaluate(Trained& t, const Testbed& bed, const text::Tokenizer& tokenizer, Device device, bool quick);

// Normalised image embeddings [N, E] and pooled features [N, F] (no grad, eval mode, on the CPU).
Tensor embed_images(models::DualEncoder& model, const Tensor& images, Device device);
Tensor image_features(models::DualEncoder& model, const Tensor& images, Device device);
// The zero-shot classifier [K, E]: per class the mean of its normalised prompt-ensemble embeddings, renormalised.
// templates: empty = all of text::prompt_templates(); --quick uses quick_templates().
Tensor text_classifier(models::DualEncoder& model, const text::Tokenizer& tokenizer,
                       const std::vector<text::ClassSynonyms>& classes, Device device,
                       const std::vector<std::string>& templates = {});
const std::vector<std::string>& quick_templates();  // the first 12 templates
// Encodes texts to normalised embeddings [N, E] (no grad, CPU result).
Tensor embed_texts(models::DualEncoder& model, const text::Tokenizer& tokenizer, const std::vector<std::string>& texts,
                   Device device);
// Logistic regression on frozen features trained with AdamW; test top-1 in percent.
double linear_probe(const Tensor& train_x, const Tensor& train_y, const Tensor& test_x, const Tensor& test_y,
                    int64_t classes, int steps, Device device);

// top5.png: `count` pictures with their five best classes and softmax scores.
void save_top5_picture(const std::string& path, const Tensor& images, const Testbed& bed, const Tensor& scores,
                       const std::vector<text::ClassSynonyms>& classes, const std::string& title, int count = 8);

// ---- weight files (clip_file.cpp; the format is described there) --------------------------------
void save_model_file(const std::string& path, const Trained& t, const Testbed& bed, const std::string& tokenizer_path);
struct LoadedModel {
  Trained trained;                          // model (eval mode, on the device) and the CE head when stored
  std::string data;                         // the testbed it was trained on
  std::vector<double> mean, std;            // per-channel normalisation of its input pictures
  std::shared_ptr<text::Tokenizer> tokenizer;
};
// Throws a one-line error for a missing file, a file without unicl metadata, or weights that do not fit.
LoadedModel load_model_file(const std::string& path, Device device);

}  // namespace iris::unicl
