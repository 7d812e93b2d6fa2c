// farl app, shared pieces: the FACES world in memory (data.cpp), FaRL pre-training with ITC, MIM or both
// on the shared loop (pretrain.cpp), fine-tuning for face parsing and face alignment from a pre-trained
// encoder or from random init (finetune.cpp), the encoder file (encoder_file.cpp) and the pictures
// (pictures.cpp). main.cpp holds the commands.
// Leaves out: augmentation (no warps, gray, gamma or blur), EMA of the fine-tuned weights, multi-GPU.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "apps/common/flags.h"
#include "apps/common/run.h"
#include "apps/common/train_loop.h"
#include "data/synth/faces.h"
#include "data/text/tokenizer.h"
#include "models/farl_heads.h"

namespace iris::farl {

// ---- data -------------------------------------------------------------------------------------

// CLIP's image normalisation (papers/farl.md 4.2).
extern const std::vector<double> kMean, kStd;

struct FaceSet {
  Tensor images;     // f32 [N, 3, 48, 48], normalised
  Tensor masks;      // i64 [N, 48, 48], face_label values (undefined for the user's own pictures)
  Tensor landmarks;  // f32 [N, 14, 2], pixels (x, y) (undefined for the user's own pictures)
  std::vector<synth::FaceFactors> factors;  // for the captions
  int64_t size() const { return images.defined() ? images.shape()[0] : 0; }
};
// Faces first .. first + count - 1 of a split of the world with this seed.
FaceSet make_face_set(synth::FaceSplit split, int64_t first, int64_t count, uint64_t world_seed);
FaceSet first_faces(const FaceSet& set, int64_t n);     // the first n faces
Image face_image(const FaceSet& set, int64_t i);        // the picture, un-normalised
// The user's own faces (PNG/JPEG files, comma-separated in --image): RGB, exactly size x size (what
// `datagen faces` writes); one clear line for a missing, corrupt or odd-sized file. No masks or landmarks.
FaceSet load_user_faces(const std::vector<std::string>& paths, int64_t size);

// How many faces each part of the world holds (the pre-training pairs are train faces 0 .. pretrain - 1; the
// labelled set the next `labelled` train faces; val and test their own splits with disjoint identities).
struct Sizes {
  int64_t pretrain = 8000, labelled = 2500, val = 500, test = 1000;  // sized for a ~90-minute ablate on 2 cores
};
Sizes sizes_from(const Flags& flags);

// ---- the model --------------------------------------------------------------------------------

models::FarlConfig model_config(const Flags& flags, int64_t text_vocab);
json::Value config_to_json(const models::FarlConfig& cfg);
models::FarlConfig config_from_json(const json::Value& v);

// ---- pre-training -----------------------------------------------------------------------------

struct PretrainOptions : TrainLoopOptions {
  std::string objective = "itc+mim";  // itc, mim, itc+mim
  int64_t batch_size = 128;
  uint64_t seed = 0;                  // init, data order, captions, masks, k-means
  double mim_weight = 1.0;            // lambda
  int64_t mask_patches = 26;          // BEiT blockwise masking target (~40% of 64)
  int kmeans_iterations = 10;
  int64_t kmeans_points = 20000;      // patches the vocabulary is fitted on
};
PretrainOptions pretrain_options(const Flags& flags, bool ablate);
bool objective_has_itc(const std::string& objective);
bool objective_has_mim(const std::string& objective);

struct Pretrained {
  std::shared_ptr<models::Farl> model;
  Tensor centroids;                       // [K, 3 P P] the visual vocabulary
  double first_loss = 0, final_loss = 0;
  int64_t steps = 0;
  bool stopped_early = false;
  json::Value metrics = json::Value::object();  // val: retrieval top1 (itc), token accuracy (mim)
};
// Fits the visual vocabulary (k-means on patches of the pre-training faces, from the seed), then trains.
Pretrained pretrain(const FaceSet& train, const FaceSet& val, const text::Tokenizer& tok, const PretrainOptions& o,
                    const models::FarlConfig& cfg, Run& run);

// ---- the encoder file -------------------------------------------------------------------------
// weights.safetensors: the whole Farl model (plain names), the visual vocabulary ("tokens.centroids") and
// metadata kind = farl-encoder, config (JSON), objective, mean / std (JSON: the image normalisation) and
// tokenizer (the sentencepiece model's file name: a copy written beside the weights, since its ids are the
// text tower's embedding rows). This is also the file `farl pretrain --export` writes for HairCLIP.
void save_encoder(const std::string& path, const Pretrained& p, const std::string& objective,
                  const std::string& tokenizer_path);
struct LoadedEncoder {
  std::shared_ptr<models::Farl> model;
  std::string objective;
  Tensor centroids;
  std::string tokenizer_path;  // the tokenizer beside the weights (empty in files written before it travelled)
};
LoadedEncoder load_encoder(const std::string& path);  // one-line errors for a missing or wrong file

// ---- fine-tuning ------------------------------------------------------------------------------

struct FinetuneOptions : TrainLoopOptions {
  std::string task = "parse";     // parse or align
  double label_percent = 100;     // of the labelled set
  int64_t batch_size = 32;
  uint64_t seed = 0;
  double backbone_lr_factor = 0.1;  // backbone lr = factor x head lr
  int64_t head_channels = 32;
  double heatmap_sigma = 1.25;    // in heatmap cells (5 px at 128 -> 1.25 cells at 32)
};
FinetuneOptions finetune_options(const Flags& flags, bool ablate);

struct Finetuned {
  std::shared_ptr<models::FarlDense> model;
  double first_loss = 0, final_loss = 0;
  int64_t steps = 0, train_faces = 0;
  bool stopped_early = false;
  json::Value metrics = json::Value::object();  // parse: f1, miou, pixel_acc (percent); align: nme, fr10 (percent)
};
// visual: a pre-trained encoder (copied: the caller's stays as it is), or null for random init (from the seed).
Finetuned finetune(const models::FarlConfig& cfg, const models::FarlVisual* visual, const FaceSet& labelled,
                   const FaceSet& test, const FinetuneOptions& o, Run& run);
// Predictions for images f32 [N, 3, S, S] (normalised): parse -> i64 masks [N, S, S]; align -> f32 points
// [N, 14, 2] in pixels.
Tensor predict_dense(models::FarlDense& model, const std::string& task, const Tensor& images, Device device);
json::Value evaluate_dense(models::FarlDense& model, const std::string& task, const FaceSet& test, Device device,
                           Tensor* predictions = nullptr);  // predictions: masks i64 [N,48,48] or points [N,14,2]
// Heatmap cells <-> image pixels: cell j's centre is pixel (j + 0.5) S / H - 0.5.
Tensor cells_to_pixels(const Tensor& cells, int64_t heatmap, int64_t image);
Tensor pixels_to_cells(const Tensor& pixels, int64_t heatmap, int64_t image);

// ---- pictures ---------------------------------------------------------------------------------
// parsing.png: faces with the predicted mask beside the true one; landmarks.png: predicted (red) and true
// (green) landmarks (a set without masks or landmarks, the user's own faces, gets the prediction only); tokens.png: faces beside their visual-token maps (the MIM targets, coloured by id).
void save_parsing_picture(const std::string& path, const FaceSet& set, const Tensor& predicted, int count = 8);
void save_landmark_picture(const std::string& path, const FaceSet& set, const Tensor& predicted, int count = 8);
void save_token_picture(const std::string& path, const FaceSet& set, const Tensor& tokens, const Tensor& predicted,
                        int64_t grid, int count = 6);

}  // namespace iris::farl
