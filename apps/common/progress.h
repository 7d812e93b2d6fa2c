// The training progress bar on stderr: epoch a/b, a bar, step i/n, smoothed loss, items/s and ETA,
// redrawn in place at most ~10 times a second when stderr is a terminal; when it is not (logs, CI,
// pipes) the bar stays quiet and only a one-line summary per epoch is written.
// format_progress_line() is a pure function so the layout is tested without a terminal or a clock.
// Leaves out: nested bars, colours, and anything on stdout (stdout is for the final JSON line).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>

namespace iris {

struct ProgressState {
  std::string label;              // e.g. "train", "eval"; empty: none
  int epoch = 0, epochs = 0;      // 1-based; epochs == 0 leaves the epoch out
  int64_t step = 0, steps = 0;    // steps done in this epoch, of `steps` (0: unknown)
  bool has_loss = false;          // false leaves the loss out
  double loss = 0;                // smoothed (nan/inf shown as such)
  double items_per_second = 0;    // 0 leaves it out
  double eta_seconds = -1;        // < 0 leaves it out
  double elapsed_seconds = 0;
};

// One line, at most `width` columns (the bar shrinks first, then the bar is dropped), e.g.
//   "train epoch 2/10 [#######.............] 120/469 loss 0.4123 | 1834 items/s | ETA 3:12"
std::string format_progress_line(const ProgressState& state, int width = 100);
// "12s", "3:12", "1:02:03" (h:mm:ss from an hour up); "?" for negative or non-finite.
std::string format_duration(double seconds);
// A compact rate: "1834", "12.5", "0.31", "1.2e+05".
std::string format_rate(double per_second);

class ProgressBar {
 public:
  // interactive: the bar redrawn in place, then a summary line per epoch; summary: only the summary
  // lines; off: nothing; automatic: interactive when stderr is a terminal, else summary.
  enum class Mode { automatic, interactive, summary, off };
  // steps_per_epoch may be 0 when unknown (no step total, no ETA within the epoch).
  ProgressBar(int epochs, int64_t steps_per_epoch, std::string label = "train", Mode mode = Mode::automatic,
              std::ostream* out = nullptr /* std::cerr */);
  ~ProgressBar();

  void start_epoch(int epoch);  // 1-based
  // One step done: its loss and how many items (images, pairs) it processed. A NaN or infinite
  // loss shows as nan/inf (a diverged run should be visible); the second form has no loss.
  void step(double loss, int64_t items);
  void step(int64_t items);
  // Ends the epoch: erases the bar and writes one summary line ("epoch 2/10: loss 0.41 ... 12s"),
  // with `extra` (e.g. "top1 88.4") appended.
  void end_epoch(const std::string& extra = "");

  double smoothed_loss() const;      // bias-corrected exponential moving average (beta 0.98)
  bool interactive() const { return mode_ == Mode::interactive; }
  ProgressState state() const;       // what the next redraw would show

 private:
  void draw(bool force);
  double seconds_since(std::chrono::steady_clock::time_point t) const;

  int epochs_;
  int64_t steps_per_epoch_;
  std::string label_;
  Mode mode_;
  std::ostream* out_;
  int epoch_ = 0;
  int64_t step_ = 0, items_ = 0;
  int64_t steps_done_total_ = 0;     // over all epochs, for the ETA of later epochs
  double epoch_seconds_total_ = 0;   // time spent inside finished epochs
  bool has_loss_ = false;
  double loss_average_ = 0, loss_weight_ = 0;
  double epoch_loss_sum_ = 0;
  int64_t epoch_loss_count_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
};

}  // namespace iris
