// The progress bar: a pure line formatter and a small stateful bar that times steps, smooths the
// loss, estimates the remaining time and redraws on stderr at most ~10 times a second.
// Leaves out: terminal capabilities beyond "\r" and "erase to end of line" (ESC [ K).
#include "apps/common/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace iris {

namespace {

constexpr double kLossBeta = 0.98;
constexpr double kRedrawSeconds = 0.1;

std::string format_loss(double loss) {
  char buf[32];
  if (!std::isfinite(loss)) return loss != loss ? "nan" : (loss > 0 ? "inf" : "-inf");
  double a = std::fabs(loss);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) std::snprintf(buf, sizeof buf, "%.3e", loss);
  else std::snprintf(buf, sizeof buf, "%.4f", loss);
  return buf;
}

int terminal_columns() {
  struct winsize size {};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 20) return size.ws_col;
  return 100;
}

}  // namespace

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  if (seconds >= 1e8) return ">3y";
  int64_t total = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (total < 60) std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(total));
  else if (total < 3600) std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(total / 60),
                                       static_cast<long long>(total % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                     static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  return buf;
}

std::string format_rate(double per_second) {
  char buf[32];
  if (!std::isfinite(per_second) || per_second < 0) return "?";
  if (per_second >= 1e5) std::snprintf(buf, sizeof buf, "%.1e", per_second);
  else if (per_second >= 100) std::snprintf(buf, sizeof buf, "%.0f", per_second);
  else if (per_second >= 10) std::snprintf(buf, sizeof buf, "%.1f", per_second);
  else std::snprintf(buf, sizeof buf, "%.2f", per_second);
  return buf;
}

std::string format_progress_line(const ProgressState& s, int width) {
  width = std::max(width, 20);
  std::string head = s.label;
  if (s.epochs > 0) head += (head.empty() ? "" : " ") + std::string("epoch ") + std::to_string(s.epoch) + "/" +
                            std::to_string(s.epochs);
  std::string counter = std::to_string(s.step) + (s.steps > 0 ? "/" + std::to_string(s.steps) : "");
  std::string tail;
  auto add = [&](const std::string& part) { tail += (tail.empty() ? "" : " | ") + part; };
  if (s.has_loss) add("loss " + format_loss(s.loss));
  if (s.items_per_second > 0) add(format_rate(s.items_per_second) + " items/s");
  if (s.eta_seconds >= 0) add("ETA " + format_duration(s.eta_seconds));
  else if (s.elapsed_seconds > 0) add(format_duration(s.elapsed_seconds));

  // head [bar] counter tail: the bar gets what is left, between 10 and 30 cells, or goes.
  int fixed = static_cast<int>(head.size() + counter.size() + tail.size()) + (head.empty() ? 0 : 1) + 1;
  std::string bar;
  if (s.steps > 0) {
    int cells = std::min(30, width - fixed - 3);
    if (cells >= 10) {
      double fraction = std::clamp(double(s.step) / double(s.steps), 0.0, 1.0);
      int filled = static_cast<int>(fraction * cells);
      bar = "[" + std::string(filled, '#') + std::string(cells - filled, '.') + "] ";
    }
  }
  std::string line = head + (head.empty() ? "" : " ") + bar + counter + " " + tail;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  if (static_cast<int>(line.size()) > width) line.resize(width);
  return line;
}

ProgressBar::ProgressBar(int epochs, int64_t steps_per_epoch, std::string label, Mode mode, std::ostream* out)
    : epochs_(std::max(epochs, 0)),
      steps_per_epoch_(std::max<int64_t>(steps_per_epoch, 0)),
      label_(std::move(label)),
      mode_(mode),
      out_(out ? out : &std::cerr) {
  if (mode_ == Mode::automatic) mode_ = (out_ == &std::cerr && isatty(STDERR_FILENO)) ? Mode::interactive : Mode::summary;
  epoch_start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() {
  if (drawn_ && mode_ == Mode::interactive) {
    *out_ << "\n";
    out_->flush();
  }
}

double ProgressBar::seconds_since(std::chrono::steady_clock::time_point t) const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

void ProgressBar::start_epoch(int epoch) {
  epoch_ = epoch;
  step_ = 0;
  items_ = 0;
  epoch_loss_sum_ = 0;
  epoch_loss_count_ = 0;
  epoch_start_ = std::chrono::steady_clock::now();
  last_draw_ = epoch_start_ - std::chrono::seconds(1);  // the first step draws at once
}

void ProgressBar::step(int64_t items) {
  ++step_;
  ++steps_done_total_;
  items_ += std::max<int64_t>(items, 0);
  draw(step_ == steps_per_epoch_);
}

void ProgressBar::step(double loss, int64_t items) {
  has_loss_ = true;
  loss_average_ = kLossBeta * loss_average_ + (1 - kLossBeta) * loss;
  loss_weight_ = kLossBeta * loss_weight_ + (1 - kLossBeta);
  epoch_loss_sum_ += loss;
  ++epoch_loss_count_;
  step(items);
}

double ProgressBar::smoothed_loss() const { return loss_weight_ > 0 ? loss_average_ / loss_weight_ : NAN; }

ProgressState ProgressBar::state() const {
  ProgressState s;
  s.label = label_;
  s.epoch = epoch_;
  s.epochs = epochs_;
  s.step = step_;
  s.steps = steps_per_epoch_;
  s.has_loss = has_loss_;
  s.loss = has_loss_ ? smoothed_loss() : 0.0;
  double elapsed = seconds_since(epoch_start_);
  s.elapsed_seconds = elapsed;
  s.items_per_second = elapsed > 0 && items_ > 0 ? items_ / elapsed : 0;
  if (steps_per_epoch_ > 0 && step_ > 0) {
    double seconds_per_step = elapsed / step_;
    double this_epoch = std::max<int64_t>(steps_per_epoch_ - step_, 0) * seconds_per_step;
    int finished = epoch_ - 1;
    double per_epoch = finished > 0 && epoch_seconds_total_ > 0 ? epoch_seconds_total_ / finished
                                                                 : steps_per_epoch_ * seconds_per_step;
    s.eta_seconds = this_epoch + std::max(epochs_ - epoch_, 0) * per_epoch;
  }
  return s;
}

void ProgressBar::draw(bool force) {
  if (mode_ != Mode::interactive) return;
  if (!force && seconds_since(last_draw_) < kRedrawSeconds) return;
  last_draw_ = std::chrono::steady_clock::now();
  *out_ << "\r" << format_progress_line(state(), terminal_columns() - 1) << "\x1b[K";
  out_->flush();
  drawn_ = true;
}

void ProgressBar::end_epoch(const std::string& extra) {
  double elapsed = seconds_since(epoch_start_);
  epoch_seconds_total_ += elapsed;
  if (mode_ == Mode::off) return;
  std::string line = label_;
  if (epochs_ > 0) line += (line.empty() ? "" : " ") + std::string("epoch ") + std::to_string(epoch_) + "/" +
                           std::to_string(epochs_);
  line += line.empty() ? "" : ":";
  line += " " + std::to_string(step_) + " steps";
  if (epoch_loss_count_ > 0) line += ", mean loss " + format_loss(epoch_loss_sum_ / epoch_loss_count_);
  if (items_ > 0 && elapsed > 0) line += ", " + format_rate(items_ / elapsed) + " items/s";
  line += ", " + format_duration(elapsed);
  if (!extra.empty()) line += " | " + extra;
  if (mode_ == Mode::interactive) *out_ << "\r\x1b[K";
  *out_ << line << "\n";
  out_->flush();
  drawn_ = false;
}

}  // namespace iris
