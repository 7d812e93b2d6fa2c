// PNL's losses for re-ID pre-training on noisy tracklet labels (Fu et al. 2022, "Large-Scale Pre-training
// for Person Re-identification with Noisy Labels"; papers/pnl.md 4.3), as the official pnl_builder.py and
// lup_pnl.py compute them: prototype-based label correction, CE on the corrected labels, the prototype
// contrastive loss against momentum prototypes, the label-guided contrastive loss against a momentum
// encoder's key and a labelled queue, and the two no-grad state updates (queue, prototypes).
// Letters: B batch, D embedding (128 in the paper), K classes (noisy IDs), Q queue length (65536).
// Leaves out: the encoders and the momentum-encoder EMA (m1), the BN batch shuffle, the all-gather over
// devices (a single process sees its batch as the gathered one), the epoch schedule (the caller sets the flags).
#pragma once

#include "autograd/ops.h"

namespace iris::losses {

// The hyper-parameters of papers/pnl.md 4.3 (the released run_pnl.sh where it differs from the defaults).
struct PnlOptions {
  double temperature = 0.07;      // tau, shared by instance and prototype logits (run_pnl.sh; code default 0.1)
  double alpha = 0.5;             // l = alpha p + (1 - alpha) s
  double pseudo_threshold = 0.8;  // T: replace y by argmax l when max l > T (strictly)
  double prototype_weight = 1.0;  // lambda_pro (w_proto)
  double instance_weight = 1.0;   // lambda_lgc (w_inst)
  bool use_prototypes = true;     // is_proto = epoch > 0 (the prototypes start at zero)
  bool correct_labels = false;    // is_clean = epoch >= start_clean_epoch (11); needs use_prototypes
  bool label_guided = false;      // is_supcont = epoch >= start_supcont_epoch (15 in run_pnl.sh, default 12)
  // Which label of the query picks the queue positives. The official forward builds the mask from the
  // incoming (noisy) labels before it corrects them (false, the default); the spec's text says y-hat (true).
  bool query_uses_corrected_label = false;
};

// q [B, D] (L2-normalised), prototypes [K, D] (constants: detached) -> z = q C^T / tau, [B, K].
Tensor prototype_logits(const Tensor& q, const Tensor& prototypes, double temperature = 0.07);

// The correction rule (4.3): l = alpha softmax(class_logits) + (1 - alpha) softmax(proto_logits); where
// max_k l[k] > threshold the label becomes argmax_k l (first index on ties, as torch.max), else it stays.
// class_logits, proto_logits [B, K]; labels [B] (i64 or i32) -> i64 [B]. No gradient.
Tensor correct_labels(const Tensor& class_logits, const Tensor& proto_logits, const Tensor& labels,
                      double alpha = 0.5, double threshold = 0.8);

// L_pro = CE(q C^T / tau, labels), the mean over the batch. q [B, D], prototypes [K, D], labels [B].
Tensor prototype_contrastive_loss(const Tensor& q, const Tensor& prototypes, const Tensor& labels,
                                  double temperature = 0.07);

// L_lgc (4.3, the code's SupCon form): logits = [q.k_i, q queue^T] / tau [B, 1 + Q]; positives: column 0,
// and when label_guided also the queue entries whose label equals labels[i]; the mean over the rows of
// -(1/|P(i)|) sum_{p in P(i)} log_softmax(logits_i)_p (losses::multi_positive_infonce).
// q, k [B, D] (k: the momentum encoder's key, detached here), queue_keys [Q, D], queue_labels i64 [Q]
// (-1 = an empty slot, never a positive), labels [B].
Tensor label_guided_contrastive_loss(const Tensor& q, const Tensor& k, const Tensor& queue_keys,
                                     const Tensor& queue_labels, const Tensor& labels, bool label_guided,
                                     double temperature = 0.07);

// The MoCo queue with labels (pnl_builder.py's queue, queue_id, queue_ptr; keys stored as rows here, the
// code stores their transpose). Starts as random unit keys with label -1; enqueue writes a batch at the
// pointer, wrapping around the end, and moves the pointer. Not differentiable.
struct LabeledQueue {
  Tensor keys;      // [Q, D]
  Tensor labels;    // i64 [Q], -1 = empty
  int64_t ptr = 0;  // the next slot to write

  LabeledQueue() = default;
  LabeledQueue(int64_t size, int64_t dim, TensorOptions opts = {}, Generator* gen = nullptr);
  // keys_in [B, D] (B <= Q), labels_in [B] -> written at rows ptr, ptr + 1, ... (mod Q).
  void enqueue(const Tensor& keys_in, const Tensor& labels_in);
  int64_t size() const { return keys.defined() ? keys.shape()[0] : 0; }
};

// Momentum prototypes (4.3), in place, no gradient: for each sample in batch order, c_y <- m c_y + (1 - m) q,
// then every row L2-normalised (zero rows stay zero). prototypes [K, D], q [B, D], labels [B] (the corrected
// ones). The sequential loop is computed in closed form: a class seen n times gets m^n c + (1 - m) sum_j m^(n-j) q_j.
void update_prototypes(Tensor& prototypes, const Tensor& q, const Tensor& labels, double momentum = 0.999);

// One step of PNL's losses, in the official forward's order: prototype logits (from the prototypes before
// this step's update), label correction, L_lgc, L_ce = CE(class_logits, y-hat), L_pro = CE(z, y-hat), and
// total = L_ce + w_inst L_lgc + w_proto L_pro. The caller then enqueues (k, labels) and updates the
// prototypes with (q, labels). class_logits [B, K], q, k [B, D], labels [B] (noisy), prototypes [K, D].
struct PnlLosses {
  Tensor labels;          // i64 [B]: the corrected labels (the incoming ones when !correct_labels)
  Tensor classification;  // L_ce
  Tensor prototype;       // L_pro (undefined when !use_prototypes)
  Tensor label_guided;    // L_lgc
  Tensor total;
};
PnlLosses pnl_losses(const Tensor& class_logits, const Tensor& q, const Tensor& k, const Tensor& labels,
                     const Tensor& prototypes, const LabeledQueue& queue, const PnlOptions& opts = {});

}  // namespace iris::losses
