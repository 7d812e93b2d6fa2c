// The shared app conventions: line plots (size, dark axes, series colours, ticks), training curves,
// the bar chart (bars, clipped error bars, reference lines, the marked axis break), flags (defaults,
// overrides, errors with suggestions, --help text, the optimiser flags), the progress line and bar, the
// run folder (config.json, metrics.jsonl, result.json and the final stdout line), app_main and the
// ablation protocol (summary over seeds, table, files, the final line).
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "apps/common/ablate.h"
#include "apps/common/classify.h"
#include "apps/common/flags.h"
#include "image/plot.h"
#include "apps/common/progress.h"
#include "apps/common/run.h"
#include "autograd/autocast.h"
#include "io/file_util.h"
#include "tests/helpers.h"

using namespace iris;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/iris_test_app_XXXXXX";
    char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path = made;
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", path.c_str());
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

// Captures what is written to std::cout (or another stream) while it lives.
struct CaptureStdout {
  std::ostringstream text;
  std::ostream& stream;
  std::streambuf* saved;
  explicit CaptureStdout(std::ostream& s = std::cout) : stream(s), saved(s.rdbuf(text.rdbuf())) {}
  ~CaptureStdout() { stream.rdbuf(saved); }
};

int count_color(const Image& image, Color color) {
  int n = 0;
  for (int y = 0; y < image.height(); ++y)
    for (int x = 0; x < image.width(); ++x) n += image.pixel(y, x) == color;
  return n;
}

bool dark(Color c) { return c.r < 60 && c.g < 60 && c.b < 60; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

Flags make_flags() {
  Flags flags("minivit", "weight-multiplexed ViT on Fashion-MNIST");
  flags.add_int("depth", 12, "transformer blocks").add_double("mask-ratio", 0.75, "fraction of patches masked");
  flags.add_string("teacher", "deit", "teacher model", "NAME").add_bool("distill", true, "distil from the teacher");
  flags.set_default("epochs", "20").set_default("data", "data/fashion-mnist");
  return flags;
}

}  // namespace

// ---- plots ----------------------------------------------------------------------------------

TEST_CASE("nice ticks and tick labels") {
  CHECK(nice_ticks(0, 1) == std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1});
  std::vector<double> t = nice_ticks(0, 97);
  CHECK(t == std::vector<double>{0, 20, 40, 60, 80});
  CHECK(nice_step(0, 10, 4) == 2.5);
  CHECK(nice_step(-3, 3, 6) == 1);
  CHECK(nice_step(5, 5, 6) > 0);
  std::vector<double> small = nice_ticks(0.0012, 0.0049, 5);
  REQUIRE(small.size() >= 3);
  CHECK(small.front() >= 0.0012);
  CHECK(small.back() <= 0.0049);
  CHECK(format_tick(0.25, 0.25) == "0.25");
  CHECK(format_tick(0.5, 0.25) == "0.50");
  CHECK(format_tick(10, 5) == "10");
  CHECK(format_tick(1.5, 0.5) == "1.5");
  CHECK(format_tick(0, 0.1) == "0");
  CHECK(format_tick(-2e-17, 0.1) == "0");  // accumulated rounding is not "-0.0"
  CHECK(format_tick(1e-5, 1e-5) == "1e-05");
  CHECK(format_tick(2e6, 1e6) == "2e+06");
  CHECK_THROWS_WITH_SUBSTR(nice_step(0, INFINITY), "not finite");
}

TEST_CASE("a line plot has the requested size, dark axes and the series colours") {
  TempDir tmp;
  LinePlot plot;
  plot.title = "loss";
  plot.x_label = "epoch";
  plot.y_label = "loss";
  PlotSeries train{"train", {}, {}}, test{"test", {}, {}, Color(200, 0, 200)};
  for (int e = 1; e <= 10; ++e) {
    train.x.push_back(e), train.y.push_back(2.0 / e);
    test.x.push_back(e), test.y.push_back(2.5 / e + 0.1);
  }
  plot.series = {train, test};
  save_line_plots(tmp.file("plot.png"), {plot}, 500, 300);
  Image image = load_image(tmp.file("plot.png"));
  REQUIRE(image.width() == 500);
  REQUIRE(image.height() == 300);
  // The frame: some row and some column are dark over at least half the picture.
  int longest_row = 0, longest_column = 0;
  for (int y = 0; y < image.height(); ++y) {
    int run = 0;
    for (int x = 0; x < image.width(); ++x) run += dark(image.pixel(y, x));
    longest_row = std::max(longest_row, run);
  }
  for (int x = 0; x < image.width(); ++x) {
    int run = 0;
    for (int y = 0; y < image.height(); ++y) run += dark(image.pixel(y, x));
    longest_column = std::max(longest_column, run);
  }
  CHECK(longest_row > image.width() / 2);
  CHECK(longest_column > image.height() / 2);
  CHECK(count_color(image, colors::palette(0)) > 100);  // automatic colour of the first series
  CHECK(count_color(image, Color(200, 0, 200)) > 100);  // the explicit colour
  CHECK(image.pixel(2, 2) == colors::white);

  // Two panels side by side.
  LinePlot accuracy;
  accuracy.series = {PlotSeries{"top1", {1, 2, 3}, {50, 70, 80}}};
  save_line_plots(tmp.file("two.png"), {plot, accuracy}, 400, 300);
  Image two = load_image(tmp.file("two.png"));
  CHECK(two.width() == 800);
  CHECK(two.height() == 300);
}

TEST_CASE("plots survive awkward data") {
  LinePlot plot;
  plot.log_y = true;
  plot.series = {PlotSeries{"with gaps", {1, 2, 3, 4, 5}, {1.0, NAN, 0.0, -1.0, 1e-3}}};
  Image log_plot = render_line_plot(plot, 320, 200);
  CHECK(count_color(log_plot, colors::palette(0)) > 10);
  LinePlot empty;
  empty.title = "nothing yet";
  Image blank = render_line_plot(empty, 320, 200);
  CHECK(blank.width() == 320);
  LinePlot flat;
  flat.series = {PlotSeries{"flat", {3, 3}, {5, 5}}, PlotSeries{"", {1e9}, {-1e9}}};
  CHECK(render_line_plot(flat, 200, 160).height() == 160);
  LinePlot bad;
  bad.series = {PlotSeries{"bad", {1, 2}, {1}}};
  CHECK_THROWS_WITH_SUBSTR(render_line_plot(bad), "has 2 x values but 1 y values");
  CHECK_THROWS_WITH_SUBSTR(render_line_plot(empty, 100, 100), "must be in [160, 4096]");
  CHECK_THROWS_WITH_SUBSTR(save_line_plots("/tmp/never.png", {}), "no plots");
}

TEST_CASE("the legend avoids the data") {
  // Data only in the top right: the legend must go elsewhere, so the top-right region keeps the
  // series colour while some other corner gets the legend's grey border.
  LinePlot plot;
  PlotSeries s{"a long series name", {}, {}};
  for (int i = 0; i <= 20; ++i) s.x.push_back(10 + i * 0.5), s.y.push_back(i <= 10 ? 0 : 10.0 * (i - 10));
  s.x.push_back(20), s.y.push_back(100);
  plot.series = {s};
  Image image = render_line_plot(plot, 400, 300);
  auto border_pixels = [&](int x0, int y0, int x1, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) n += image.pixel(y, x) == Color(160, 160, 160);
    return n;
  };
  CHECK(border_pixels(200, 0, 400, 150) == 0);  // not top right
  CHECK(border_pixels(0, 0, 200, 150) > 0);     // top left is empty of data: the legend goes there
}

TEST_CASE("training curves from metrics records") {
  TempDir tmp;
  std::vector<json::Value> records;
  for (int epoch = 1; epoch <= 5; ++epoch) {
    json::Value r = json::Value::object();
    r["epoch"] = epoch;
    r["train_loss"] = 1.0 / epoch;
    r["test_loss"] = 1.2 / epoch;
    r["top1"] = 60.0 + 5 * epoch;
    r["seconds"] = 3.0 * epoch;
    records.push_back(r);
  }
  save_training_curves(tmp.file("curves.png"), records, "epoch", "minivit");
  Image image = load_image(tmp.file("curves.png"));
  CHECK(image.width() == 2 * 560);
  CHECK(image.height() == 400);
  CHECK(count_color(image, colors::palette(1)) > 50);  // test_loss
  // both panels have a y label (rotated text in the leftmost 20 pixels of the panel)
  auto dark_in = [&](int x0, int x1) {
    int n = 0;
    for (int y = 0; y < image.height(); ++y)
      for (int x = x0; x < x1; ++x) n += dark(image.pixel(y, x));
    return n;
  };
  CHECK(dark_in(8, 20) > 10);
  CHECK(dark_in(560 + 8, 560 + 20) > 10);  // "top1 %" on the metrics panel
  std::vector<json::Value> only_loss = {json::parse("{\"epoch\": 1, \"loss\": 2}")};
  save_training_curves(tmp.file("loss.png"), only_loss);
  CHECK(load_image(tmp.file("loss.png")).width() == 560);
  CHECK_THROWS_WITH_SUBSTR(save_training_curves(tmp.file("none.png"), {json::parse("{\"step\": 1}")}),
                           "no numeric values against 'epoch'");
}

// ---- bar charts -------------------------------------------------------------------------------

namespace {

// The plot frame: the first and last columns and rows that are dark over more than half the picture.
struct Frame {
  int left = -1, right = -1, top = -1, bottom = -1;
};
Frame frame_of(const Image& image) {
  Frame f;
  for (int x = 0; x < image.width(); ++x) {
    int run = 0;
    for (int y = 0; y < image.height(); ++y) run += dark(image.pixel(y, x));
    if (run > image.height() / 2) f.right = x, f.left = f.left < 0 ? x : f.left;
  }
  for (int y = 0; y < image.height(); ++y) {
    int run = 0;
    for (int x = 0; x < image.width(); ++x) run += dark(image.pixel(y, x));
    if (run > image.width() / 2) f.bottom = y, f.top = f.top < 0 ? y : f.top;
  }
  return f;
}

// A bar inside the frame, between columns x_from and x_to: its columns and its top row.
struct Bar {
  int x0 = INT32_MAX, x1 = -1, top = INT32_MAX;
  int center() const { return (x0 + x1) / 2; }
  bool found() const { return x1 >= 0; }
};
Bar bar_of(const Image& image, const Frame& f, Color color, int x_from, int x_to) {
  Bar b;
  for (int y = f.top + 1; y < f.bottom; ++y)
    for (int x = x_from; x < x_to; ++x)
      if (image.pixel(y, x) == color) b.x0 = std::min(b.x0, x), b.x1 = std::max(b.x1, x), b.top = std::min(b.top, y);
  return b;
}

const Color kReference(40, 40, 40);  // the reference line's colour (plot.cpp)

}  // namespace

TEST_CASE("bar chart: bars from zero, error bars clipped at zero, a chance line per group") {
  BarChart chart;
  chart.title = "test top-1 by arm";
  chart.y_label = "top-1 %";
  chart.groups = {"fmnist", "probe"};
  chart.bars = {"dual", "spatial"};
  chart.values = {{50, 20}, {80, 10}};
  chart.errors = {{5, 30}, {0, 0}};  // 20 +- 30 would reach -10: clipped at the axis (0)
  chart.reference = {10, 25};
  chart.axis_max = 100;
  chart.value_decimals = -1;  // no printed values: the dark pixels above a bar are its error bar
  Image image = render_bar_chart(chart, 800, 460);
  REQUIRE(image.width() == 800);
  REQUIRE(image.height() == 460);
  const Frame f = frame_of(image);
  REQUIRE(f.left > 0);
  REQUIRE(f.bottom > f.top + 100);
  const int mid = (f.left + f.right) / 2;  // two groups: fmnist on the left, probe on the right
  Bar dual_fmnist = bar_of(image, f, colors::palette(0), f.left, mid), dual_probe = bar_of(image, f, colors::palette(0), mid, f.right);
  Bar spatial_fmnist = bar_of(image, f, colors::palette(1), f.left, mid);
  REQUIRE(dual_fmnist.found());
  REQUIRE(dual_probe.found());
  REQUIRE(spatial_fmnist.found());
  CHECK(spatial_fmnist.x0 > dual_fmnist.x1);  // side by side within the group
  // every bar stands on the frame's bottom (the axis starts at zero): heights in proportion
  const double unit = (f.bottom - dual_fmnist.top) / 50.0;  // pixels per percent
  CHECK((f.bottom - dual_probe.top) / unit == doctest::Approx(80).epsilon(0.02));
  CHECK((f.bottom - spatial_fmnist.top) / unit == doctest::Approx(20).epsilon(0.04));
  auto row_of = [&](double value) { return static_cast<int>(std::lround(f.bottom - value * unit)); };
  auto black_near = [&](int y, int x) {  // within a pixel of the row (rounding)
    return image.pixel(y - 1, x) == colors::black || image.pixel(y, x) == colors::black ||
           image.pixel(y + 1, x) == colors::black;
  };

  // the error bar of 20 +- 30: black from 50 down to the axis, with a cap at 50, and nothing below zero
  const int cx = spatial_fmnist.center();
  CHECK(image.pixel(row_of(35), cx) == colors::black);             // above the bar
  CHECK(image.pixel(f.bottom - 3, cx) == colors::black);           // inside the bar, down to the axis
  CHECK(black_near(row_of(50), cx - 3));                           // the cap at 50
  for (int y = f.bottom + 1; y <= f.bottom + 5; ++y) CHECK(image.pixel(y, cx) == colors::white);  // not below 0
  // the error bar of 50 +- 5 has both caps
  CHECK(black_near(row_of(55), dual_fmnist.center() - 3));
  CHECK(black_near(row_of(45), dual_fmnist.center() - 3));
  // no error bar where the error is 0: the column above the probe bar is white
  CHECK(image.pixel(dual_probe.top - 3, dual_probe.center()) == colors::white);

  // the chance lines: dashes at 10 across fmnist, at 25 across probe, and not elsewhere
  auto dashes = [&](double value, int x_from, int x_to) {
    int n = 0;
    for (int dy = -2; dy <= 2; ++dy)
      for (int x = x_from; x < x_to; ++x) n += image.pixel(row_of(value) + dy, x) == kReference;
    return n;
  };
  CHECK(dashes(10, f.left, mid) > 200);
  CHECK(dashes(25, mid, f.right) > 200);
  CHECK(dashes(25, f.left, mid) == 0);
  CHECK(dashes(10, mid, f.right) == 0);
  // the legend under the frame: both arms and the chance line
  Bar legend_dual = bar_of(image, Frame{0, image.width(), f.bottom + 1, image.height()}, colors::palette(1), 0, image.width());
  CHECK(legend_dual.found());
}

TEST_CASE("bar chart: an axis that does not start at zero marks its break") {
  BarChart chart;
  chart.groups = {""};
  chart.bars = {"teacher", "shared", "transform"};
  chart.values = {{75, 77, 78}};
  chart.value_decimals = 2;
  chart.axis_max = 100;
  chart.from_zero = false;
  Image broken = render_bar_chart(chart, 600, 360);
  chart.from_zero = true;
  Image whole = render_bar_chart(chart, 600, 360);
  // a bar's height (its colour over its centre column inside the frame) and the white rows in it
  auto measure = [](const Image& image, Color c) {
    Frame f = frame_of(image);
    Bar b = bar_of(image, f, c, f.left + 1, f.right);
    int painted = 0, cut = 0;
    for (int y = b.top; y < f.bottom; ++y) painted += image.pixel(y, b.center()) == c, cut += image.pixel(y, b.center()) == colors::white;
    return std::make_pair(painted + cut, cut);
  };
  auto [teacher_whole, cut_whole] = measure(whole, colors::palette(0));
  auto [transform_whole, cut_transform_whole] = measure(whole, colors::palette(2));
  CHECK(static_cast<double>(transform_whole) / teacher_whole == doctest::Approx(78.0 / 75.0).epsilon(0.01));
  CHECK(cut_whole == 0);
  CHECK(cut_transform_whole == 0);
  auto [teacher_broken, cut_broken] = measure(broken, colors::palette(0));
  auto [transform_broken, cut_transform_broken] = measure(broken, colors::palette(2));
  CHECK(static_cast<double>(transform_broken) / teacher_broken > 1.15);  // the axis starts near the bars
  CHECK(cut_broken > 0);             // the cut through every bar
  CHECK(cut_transform_broken > 0);
  // and the break in the value axis: a white gap in the frame's left column
  auto gap_in_axis = [](const Image& image) {
    Frame f = frame_of(image);
    int white = 0;
    for (int y = f.top; y <= f.bottom; ++y) white += image.pixel(y, f.left) == colors::white;
    return white;
  };
  CHECK(gap_in_axis(whole) == 0);
  CHECK(gap_in_axis(broken) > 0);
}

TEST_CASE("bar chart: missing values, no data and mistakes") {
  BarChart chart;
  chart.groups = {"a", "b"};
  chart.bars = {"x"};
  chart.values = {{NAN}, {30}};
  Image image = render_bar_chart(chart, 400, 300);
  Frame f = frame_of(image);
  CHECK_FALSE(bar_of(image, f, colors::palette(0), f.left, (f.left + f.right) / 2).found());  // no bar for NaN
  CHECK(bar_of(image, f, colors::palette(0), (f.left + f.right) / 2, f.right).found());
  BarChart empty;
  CHECK(render_bar_chart(empty, 300, 200).width() == 300);
  BarChart bad = chart;
  bad.values = {{1}};
  CHECK_THROWS_WITH_SUBSTR(render_bar_chart(bad), "2 groups but values for 1");
  bad = chart;
  bad.errors = {{1, 2}, {3}};
  CHECK_THROWS_WITH_SUBSTR(render_bar_chart(bad), "group 'a' has 2 errors for 1 bars");
  bad = chart;
  bad.reference = {1};
  CHECK_THROWS_WITH_SUBSTR(render_bar_chart(bad), "one value per group (2)");
  CHECK_THROWS_WITH_SUBSTR(render_bar_chart(chart, 100, 300), "must be in [160, 4096]");
}

// ---- flags ----------------------------------------------------------------------------------

TEST_CASE("flags: defaults and overrides") {
  Flags flags = make_flags();
  flags.parse(std::vector<std::string>{"train"});
  CHECK(flags.command() == "train");
  CHECK_FALSE(flags.help_requested());
  CHECK(flags.device() == Device::cpu());
  CHECK(flags.epochs() == 20);
  CHECK(flags.batch_size() == 64);
  CHECK(flags.lr() == 1e-3);
  CHECK(flags.seed() == 0);
  CHECK(flags.threads() == 0);
  CHECK(flags.data_dir() == "data/fashion-mnist");
  CHECK(flags.out_dir().empty());
  CHECK(flags.resume().empty());
  CHECK_FALSE(flags.quick());
  CHECK(flags.get_int("depth") == 12);
  CHECK(flags.get_double("mask-ratio") == 0.75);
  CHECK(flags.get_string("teacher") == "deit");
  CHECK(flags.get_bool("distill"));
  CHECK_FALSE(flags.is_set("epochs"));

  Flags over = make_flags();
  const char* argv[] = {"minivit", "--device", "cuda:1", "eval",       "--epochs=3",  "--batch-size", "8",
                        "--lr",    "-0",       "--seed", "42",         "--threads",   "2",            "--data",
                        "/d",      "--out=/o", "--resume", "ck.safetensors", "--quick", "--depth",   "-4",
                        "--mask-ratio", "1e-1", "--teacher=", "--no-distill"};
  over.set_range("depth", -10, 10);
  over.parse(static_cast<int>(sizeof(argv) / sizeof(argv[0])), argv);
  CHECK(over.command() == "eval");
  CHECK(over.device() == Device::cuda(1));
  CHECK(over.epochs() == 3);
  CHECK(over.batch_size() == 8);
  CHECK(over.lr() == 0.0);
  CHECK(over.seed() == 42);
  CHECK(over.threads() == 2);
  CHECK(over.data_dir() == "/d");
  CHECK(over.out_dir() == "/o");
  CHECK(over.resume() == "ck.safetensors");
  CHECK(over.quick());
  CHECK(over.get_int("depth") == -4);
  CHECK(over.get_double("mask-ratio") == 0.1);
  CHECK(over.get_string("teacher").empty());
  CHECK_FALSE(over.get_bool("distill"));
  CHECK(over.is_set("epochs"));

  json::Value j = over.to_json();
  CHECK(j["command"].as_string() == "eval");
  CHECK(j["epochs"].as_int() == 3);
  CHECK(j["lr"].as_number() == 0.0);
  CHECK(j["device"].as_string() == "cuda:1");
  CHECK(j["quick"].as_bool());
  CHECK(j["mask-ratio"].as_number() == 0.1);

  Flags on_off = make_flags();
  on_off.parse(std::vector<std::string>{"demo", "--quick=false", "--distill=yes"});
  CHECK_FALSE(on_off.quick());
  CHECK(on_off.get_bool("distill"));
}

TEST_CASE("flags: comma lists and the training-loop options they fill") {
  CHECK(split_list("a,b,,c") == std::vector<std::string>{"a", "b", "c"});
  CHECK(split_list("").empty());
  CHECK(split_list("one") == std::vector<std::string>{"one"});

  Flags flags("app", "a test app", {{"train", "train"}});
  flags.add_double("weight-decay", 0.3, "decay", "X").add_double("warmup", 2.5, "warmup", "EPOCHS");
  add_loop_flags(flags, 7);
  const char* argv[] = {"app", "train", "--epochs", "4", "--batch-size", "16", "--lr", "0.02", "--seed", "9",
                        "--workers", "2", "--eval-every", "3"};
  flags.parse(static_cast<int>(sizeof(argv) / sizeof(argv[0])), argv);
  // the command line as typed, with the app's own name first (ablation reports quote it)
  CHECK(flags.command_line() ==
        "app train --epochs 4 --batch-size 16 --lr 0.02 --seed 9 --workers 2 --eval-every 3");
  ClassifyOptions o = classify_options(flags);
  CHECK(o.epochs == 4);
  CHECK(o.batch_size == 16);
  CHECK(o.lr == 0.02);
  CHECK(o.seed == 9);
  CHECK(o.weight_decay == 0.3);    // registered: the flag's default
  CHECK(o.warmup_epochs == 2.5);
  CHECK(o.workers == 2);
  CHECK(o.eval_every_epochs == 3);
  CHECK(o.log_every == 7);          // add_loop_flags' default
  CHECK(o.label_smoothing == ClassifyOptions().label_smoothing);  // not registered: the struct's default
  CHECK(o.clip_norm == ClassifyOptions().clip_norm);
  CHECK(o.stop_after_steps == -1);
}

TEST_CASE("flags: the optimiser flags with an app's defaults and help") {
  Flags flags("app", "a test app", {{"train", "train"}});
  OptimizerFlagDefaults d;
  d.weight_decay = 0.1, d.warmup_epochs = 0.5, d.clip_norm = 5.0;
  d.no_decay_on = "biases, norms, embeddings";
  d.with_drop_path = false;
  add_optimizer_flags(flags, d);
  flags.parse(std::vector<std::string>{"train", "--label-smoothing", "0.2"});
  CHECK(flags.get_double("weight-decay") == 0.1);
  CHECK(flags.get_double("warmup") == 0.5);
  CHECK(flags.get_double("clip-norm") == 5.0);
  CHECK(flags.get_double("label-smoothing") == 0.2);
  CHECK_FALSE(flags.has("drop-path"));  // not offered by this app
  std::string usage = flags.usage();
  for (const char* expected : {"AdamW weight decay (not on biases, norms, embeddings)", "--warmup EPOCHS",
                               "linear warmup, in epochs", "label smoothing of the cross-entropy loss",
                               "clip gradients to this global norm (0: off)", "(default 0.1)", "(default 5)"})
    CHECK_MESSAGE(usage.find(expected) != std::string::npos, "usage lacks \"", expected, "\":\n", usage);
  CHECK(usage.find("--drop-path") == std::string::npos);
  // the order the apps had them in (config.json lists the flags in registration order)
  CHECK(usage.find("--weight-decay") < usage.find("--warmup"));
  CHECK(usage.find("--label-smoothing") < usage.find("--clip-norm"));
  ClassifyOptions o = classify_options(flags);  // the loop reads them
  CHECK(o.weight_decay == 0.1);
  CHECK(o.warmup_epochs == 0.5);
  CHECK(o.label_smoothing == 0.2);
  CHECK(o.clip_norm == 5.0);

  Flags plain("app", "a test app", {{"train", "train"}});
  add_optimizer_flags(plain);
  plain.parse(std::vector<std::string>{"train"});
  CHECK(plain.get_double("drop-path") == 0.0);
  CHECK(plain.get_double("weight-decay") == 0.05);
}

TEST_CASE("flags: the shared names carry their ranges in every app (issue 27)") {
  auto parse = [](const std::vector<std::string>& args) {
    Flags flags("app", "a test app", {{"train", "train"}});
    add_optimizer_flags(flags);
    flags.add_int("train-subset", 0, "first N images").add_int("log-every", 10, "records").add_int("save-every", 0, "ckpt");
    flags.parse(args);
    return flags;
  };
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--train-subset", "-5"}), "--train-subset must be in [0, 1e+09], got -5");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--log-every", "-1"}), "--log-every must be in [1, 1e+09], got -1");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--save-every", "-2"}), "--save-every must be in [0");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--clip-norm", "-1"}), "--clip-norm must be in [0");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--label-smoothing", "1"}), "--label-smoothing must be in [0, 0.999]");
  CHECK(parse({"train", "--train-subset", "0", "--log-every", "1", "--clip-norm", "0"}).get_int("log-every") == 1);
}

TEST_CASE("flags: mistakes are clear errors with the closest name") {
  auto parse = [](std::vector<std::string> args) {
    Flags flags = make_flags();
    flags.parse(args);
    return flags;
  };
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--epoch", "3"}), "unknown flag --epoch; did you mean --epochs?");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--batchsize", "3"}), "did you mean --batch-size?");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--batch", "3"}), "did you mean --batch-size?");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--mask-rato", "3"}), "did you mean --mask-ratio?");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--hlep"}), "did you mean --help?");
  {
    bool threw = false;
    try {
      parse({"train", "--zzzzzzzzzz"});
    } catch (const Error& e) {
      threw = true;
      CHECK(std::string(e.what()).find("did you mean") == std::string::npos);
      CHECK(std::string(e.what()).find("minivit --help") != std::string::npos);
    }
    CHECK(threw);
  }
  CHECK_THROWS_WITH_SUBSTR(parse({"trian"}), "unknown command 'trian'; did you mean train?");
  CHECK_THROWS_WITH_SUBSTR(parse({"--epochs", "3"}), "no command given; use one of train, eval, demo");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "extra"}), "unexpected argument 'extra'");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "-epochs", "3"}), "flags start with two dashes");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--epochs"}), "--epochs needs a value");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--epochs", "three"}), "--epochs expects a whole number, got 'three'");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--epochs", "3.5"}), "expects a whole number");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--epochs", "99999999999999999999"}), "expects a whole number");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--epochs", "-1"}), "--epochs must be in [0, 1e+06]");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--batch-size", "0"}), "--batch-size must be in [1,");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--lr", "fast"}), "--lr expects a finite number");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--lr", "nan"}), "finite number");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--lr", "1e999"}), "finite number");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--quick=maybe"}), "--quick is on or off");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--device", "tpu"}), "--device");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--device=cuda:x"}), "--device");
  CHECK_THROWS_WITH_SUBSTR(parse({"train", "--seed", "-3"}), "--seed must be in");

  Flags flags = make_flags();
  CHECK_THROWS_WITH_SUBSTR(flags.add_int("epochs", 3, "again"), "already registered");
  CHECK_THROWS_WITH_SUBSTR(flags.add_int("Bad_Name", 3, "x"), "must be 1-40 lowercase letters");
  CHECK_THROWS_WITH_SUBSTR(flags.add_bool("help", true, "x"), "built in");
  CHECK_THROWS_WITH_SUBSTR(flags.set_default("epoch", "3"), "did you mean --epochs?");
  CHECK_THROWS_WITH_SUBSTR(flags.set_default("batch-size", "0"), "must be in");
  CHECK_THROWS_WITH_SUBSTR(flags.get_int("lr"), "--lr is a number flag, read as integer");
  CHECK_THROWS_WITH_SUBSTR(flags.get_string("nope"), "unknown flag --nope");
  CHECK_THROWS_WITH_SUBSTR(flags.set_range("teacher", 0, 1), "not numeric");
  CHECK(edit_distance("kitten", "sitting") == 3);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(closest_match("epcohs", {"epochs", "lr"}) == "epochs");
  CHECK(closest_match("xyzzy", {"epochs", "lr"}).empty());
}

TEST_CASE("flags: --help explains the commands and every flag") {
  Flags flags = make_flags();
  flags.parse(std::vector<std::string>{"train", "--epoch", "--help"});  // help wins over mistakes
  CHECK(flags.help_requested());
  Flags short_help = make_flags();
  short_help.parse(std::vector<std::string>{"-h"});
  CHECK(short_help.help_requested());
  Flags word_help = make_flags();
  word_help.parse(std::vector<std::string>{"help"});
  CHECK(word_help.help_requested());
  std::string usage = flags.usage();
  for (const char* expected : {"usage: minivit <command> [flags]", "train", "eval", "demo", "--device DEV",
                               "--epochs N", "--batch-size N", "--lr X", "--seed N", "--threads N", "--data DIR",
                               "--out DIR", "--resume CKPT", "--quick", "--help", "--depth N", "--mask-ratio X",
                               "--teacher NAME", "--distill", "(default 20)", "(default data/fashion-mnist)",
                               "(default 0.75)", "(default on)", "(default off)", "transformer blocks",
                               "weight-multiplexed ViT"})
    CHECK_MESSAGE(usage.find(expected) != std::string::npos, "usage lacks \"", expected, "\":\n", usage);
}

// ---- progress -------------------------------------------------------------------------------

TEST_CASE("progress line formatting") {
  ProgressState s;
  s.label = "train";
  s.epoch = 2;
  s.epochs = 10;
  s.step = 120;
  s.steps = 480;
  s.has_loss = true;
  s.loss = 0.41234;
  s.items_per_second = 1834.4;
  s.eta_seconds = 192;
  std::string line = format_progress_line(s, 120);
  CHECK(line == "train epoch 2/10 [#######.......................] 120/480 loss 0.4123 | 1834 items/s | ETA 3:12");
  // Narrow terminals shrink the bar, then drop it, and never exceed the width.
  std::string narrow = format_progress_line(s, 80);
  CHECK(narrow.size() <= 80);
  CHECK(narrow.find("[") != std::string::npos);
  CHECK(narrow.find("ETA 3:12") != std::string::npos);
  std::string tiny = format_progress_line(s, 50);
  CHECK(tiny.size() <= 50);
  CHECK(tiny.find("[") == std::string::npos);
  // Optional parts stay out.
  ProgressState bare;
  bare.step = 7;
  CHECK(format_progress_line(bare) == "7");
  bare.has_loss = true;
  bare.loss = NAN;
  CHECK(format_progress_line(bare) == "7 loss nan");
  s.step = 480;
  CHECK(format_progress_line(s, 120).find("[##############################]") != std::string::npos);
  s.loss = 12345678;
  CHECK(format_progress_line(s, 120).find("loss 1.235e+07") != std::string::npos);

  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(59.4) == "59s");
  CHECK(format_duration(192) == "3:12");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(NAN) == "?");
  CHECK(format_rate(1834.4) == "1834");
  CHECK(format_rate(12.54) == "12.5");
  CHECK(format_rate(0.314) == "0.31");
  CHECK(format_rate(123456) == "1.2e+05");
}

TEST_CASE("progress bar: summary lines when not a terminal, nothing when off") {
  std::ostringstream out;
  {
    ProgressBar bar(2, 4, "train", ProgressBar::Mode::summary, &out);
    CHECK_FALSE(bar.interactive());
    bar.start_epoch(1);
    for (int i = 0; i < 4; ++i) bar.step(0.5, 32);
    CHECK(bar.smoothed_loss() == doctest::Approx(0.5));  // bias-corrected: a constant stays itself
    ProgressState s = bar.state();
    CHECK(s.step == 4);
    CHECK(s.epoch == 1);
    CHECK(s.eta_seconds >= 0);
    CHECK(out.str().empty());  // quiet while running
    bar.end_epoch("top1 88.4");
    bar.start_epoch(2);
    bar.step(1.0, 32);
    bar.step(3.0, 32);
    bar.end_epoch();
  }
  std::vector<std::string> lines = lines_of(out.str());
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].rfind("train epoch 1/2: 4 steps, mean loss 0.5000, ", 0) == 0);
  CHECK(lines[0].find("items/s") != std::string::npos);
  CHECK(lines[0].find("| top1 88.4") != std::string::npos);
  CHECK(lines[1].rfind("train epoch 2/2: 2 steps, mean loss 2.0000", 0) == 0);
  CHECK(out.str().find('\r') == std::string::npos);

  std::ostringstream silent;
  {
    ProgressBar bar(1, 2, "eval", ProgressBar::Mode::off, &silent);
    bar.start_epoch(1);
    bar.step(int64_t(5));
    bar.end_epoch();
  }
  CHECK(silent.str().empty());

  std::ostringstream tty;
  {
    ProgressBar bar(1, 3, "train", ProgressBar::Mode::interactive, &tty);
    bar.start_epoch(1);
    bar.step(1.0, 1);  // the first step draws at once
    bar.step(1.0, 1);  // drawn only if 0.1 s passed (not asserted: no timing in tests)
    bar.step(1.0, 1);  // the last step always draws
    bar.end_epoch();
  }
  std::string drawn = tty.str();
  CHECK(drawn.find("\rtrain epoch 1/1 [") != std::string::npos);
  CHECK(drawn.find("1/3") != std::string::npos);
  CHECK(drawn.find("3/3") != std::string::npos);
  CHECK(drawn.find("\x1b[K") != std::string::npos);
  CHECK(drawn.back() == '\n');
}

// ---- run folder -----------------------------------------------------------------------------

TEST_CASE("run folder: config.json, metrics.jsonl, result.json and the final line") {
  TempDir tmp;
  Flags flags = make_flags();
  flags.parse(std::vector<std::string>{"train", "--epochs", "2", "--out", tmp.file("run1")});
  Run run(flags);
  CHECK(run.dir() == tmp.file("run1"));
  CHECK(run.path("curves.png") == tmp.file("run1/curves.png"));
  json::Value config = json::parse(read_file(run.path("config.json")));
  CHECK(config["app"].as_string() == "minivit");
  CHECK(config["cmd"].as_string() == "train");
  CHECK(config["started"].as_string().size() >= 19);
  CHECK(config["flags"]["epochs"].as_int() == 2);
  CHECK(config["flags"]["depth"].as_int() == 12);
  CHECK(config["flags"]["out"].as_string() == tmp.file("run1"));
  json::Value model = json::Value::object();
  model["dim"] = 64;
  run.set_config("model", model);
  CHECK(json::parse(read_file(run.path("config.json")))["model"]["dim"].as_int() == 64);

  for (int epoch = 1; epoch <= 2; ++epoch) {
    json::Value record = json::Value::object();
    record["epoch"] = epoch;
    record["train_loss"] = 1.0 / epoch;
    run.log(record);
  }
  CHECK(run.records().size() == 2);
  std::vector<std::string> lines = lines_of(read_file(run.path("metrics.jsonl")));
  REQUIRE(lines.size() == 2);
  for (int i = 0; i < 2; ++i) {
    json::Value r = json::parse(lines[i]);
    CHECK(r["epoch"].as_int() == i + 1);
    CHECK(r["train_loss"].as_number() == 1.0 / (i + 1));
    CHECK(r["seconds"].as_number() >= 0);
  }
  CHECK_THROWS_WITH_SUBSTR(run.log(json::Value(3)), "must be a JSON object");

  std::string checkpoint = run.checkpoint_path("last.safetensors");
  CHECK(checkpoint == tmp.file("run1/checkpoints/last.safetensors"));
  CHECK(path_exists(tmp.file("run1/checkpoints")));
  CHECK_THROWS_WITH_SUBSTR(run.checkpoint_path("../x"), "plain name");

  std::string printed;
  {
    CaptureStdout capture;
    json::Value metrics = json::Value::object();
    metrics["top1"] = 88.4;
    metrics["params"] = 151946;
    run.finish(metrics);
    printed = capture.text.str();
  }
  REQUIRE(lines_of(printed).size() == 1);
  json::Value result = json::parse(printed);
  CHECK(result["app"].as_string() == "minivit");
  CHECK(result["cmd"].as_string() == "train");
  CHECK(result["metrics"]["top1"].as_number() == 88.4);
  CHECK(result["metrics"]["params"].as_int() == 151946);
  CHECK(result["metrics"]["seconds"].as_number() >= 0);
  CHECK(json::parse(read_file(run.path("result.json"))) == result);
  CHECK_THROWS_WITH_SUBSTR(run.finish(json::Value("x")), "must be a JSON object");

  // Comparisons of arms.
  std::string arms_line;
  {
    CaptureStdout capture;
    json::Value arms = json::parse("{\"teacher\": {\"top1\": 90}, \"student\": {\"top1\": 85.5}}");
    run.finish_arms(arms);
    arms_line = capture.text.str();
  }
  json::Value arms = json::parse(arms_line);
  CHECK(arms["arms"]["student"]["top1"].as_number() == 85.5);
  CHECK_THROWS_WITH_SUBSTR(final_arms_line("a", "ablate", json::parse("{\"x\": 1}")), "arm 'x' must be an object");

  CHECK(final_json_line("davit", "eval", json::parse("{\"top1\": 1.5}")) ==
        "{\"app\":\"davit\",\"cmd\":\"eval\",\"metrics\":{\"top1\":1.5}}");
  CHECK(kSharedMetricNames.size() == 11);
}

TEST_CASE("run folder: the default name is unique per run") {
  std::tm parts{};
  parts.tm_year = 2025 - 1900, parts.tm_mon = 2, parts.tm_mday = 4, parts.tm_hour = 5, parts.tm_min = 6,
  parts.tm_sec = 7, parts.tm_isdst = -1;
  CHECK(default_run_dir("unicl", "train", std::mktime(&parts)) == "runs/unicl-train-20250304-050607");

  TempDir tmp;
  char saved[4096];
  REQUIRE(getcwd(saved, sizeof saved) != nullptr);
  REQUIRE(chdir(tmp.path.c_str()) == 0);
  std::string first, second;
  try {
    Run a("minivit", "eval");
    Run b("minivit", "eval");
    first = a.dir(), second = b.dir();
  } catch (...) {
    REQUIRE(chdir(saved) == 0);
    throw;
  }
  REQUIRE(chdir(saved) == 0);
  CHECK(first.rfind("runs/minivit-eval-", 0) == 0);
  CHECK(first != second);
  CHECK(path_exists(tmp.path + "/" + first + "/config.json"));
  CHECK(path_exists(tmp.path + "/" + second + "/config.json"));
  CHECK_THROWS_WITH_SUBSTR(Run("a/b", "train", tmp.path), "plain name");
}

TEST_CASE("app_main: help, usage errors and failures map to exit codes") {
  TempDir tmp;
  int ran = 0;
  auto body = [&](const Flags& f) {
    ++ran;
    if (f.get_bool("distill")) throw Error("model: something went wrong");
    return 0;
  };
  {
    Flags flags = make_flags();
    const char* argv[] = {"minivit", "--help"};
    CaptureStdout capture;
    CHECK(app_main(flags, 2, argv, body) == 0);
    CHECK(capture.text.str().find("--mask-ratio") != std::string::npos);
  }
  {
    Flags flags = make_flags();
    const char* argv[] = {"minivit", "train", "--epoch", "3"};
    CaptureStdout errors(std::cerr);
    CHECK(app_main(flags, 4, argv, body) == 2);
    CHECK(errors.text.str() == "error: minivit: unknown flag --epoch; did you mean --epochs? (minivit --help lists every flag)\n");
  }
  {
    Flags flags = make_flags();
    const char* argv[] = {"minivit", "train"};
    CaptureStdout errors(std::cerr);
    CHECK(app_main(flags, 2, argv, body) == 1);  // distill defaults to on: body throws
    CHECK(errors.text.str() == "minivit train: error: model: something went wrong\n");
  }
  {
    Flags flags = make_flags();
    const char* argv[] = {"minivit", "train", "--no-distill", "--seed", "5"};
    CHECK(app_main(flags, 5, argv, body) == 0);
  }
  CHECK(ran == 2);
}

TEST_CASE("app_main: --amp runs the body under autocast, and says on the CPU that it only emulates") {
  bool seen = false;
  auto body = [&](const Flags&) {
    seen = autocast_enabled();
    return 0;
  };
  for (bool amp : {false, true}) {
    CAPTURE(amp);
    Flags flags = make_flags();
    std::vector<const char*> argv = {"minivit", "train", "--no-distill"};
    if (amp) argv.push_back("--amp");
    CaptureStdout errors(std::cerr);
    CHECK(app_main(flags, static_cast<int>(argv.size()), argv.data(), body) == 0);
    CHECK(seen == amp);
    CHECK((errors.text.str().find("--amp on the CPU") != std::string::npos) == amp);
    CHECK_FALSE(autocast_enabled());  // restored after the body
  }
}

// ---- the ablation protocol --------------------------------------------------------------------

TEST_CASE("ablation: the summary over seeds") {
  json::Value a = json::parse(R"({"top1": 10.0, "params": 500, "seconds": 2.0, "tag": "x", "norms": [1, 2]})");
  json::Value b = json::parse(R"({"top1": 14.0, "params": 500, "seconds": 4.5, "tag": "x", "norms": [3]})");
  json::Value s = summarize_runs({a, b});
  CHECK(s["top1"].as_number() == 12.0);
  CHECK(s["top1_std"].as_number() == doctest::Approx(std::sqrt(8.0)));  // sample std
  CHECK(s["params"].is_integer());        // a count every seed agrees on: kept, no _std
  CHECK(s["params"].as_int() == 500);
  CHECK_FALSE(s.contains("params_std"));
  CHECK(s["seconds"].as_number() == 3.25);
  CHECK(s["tag"].as_string() == "x");     // the same in every seed: kept
  CHECK(s["norms"].size() == 2);          // different: one per seed
  CHECK(s["norms"][1][0].as_int() == 3);
  CHECK(s["seeds"].as_int() == 2);
  CHECK(s["runs"].size() == 2);
  CHECK(s["runs"][1].as_number() == 14.0);
  json::Value one = summarize_runs({a});
  CHECK(one["top1"].as_number() == 10.0);
  CHECK(one["top1_std"].as_number() == 0.0);
  CHECK(one["seeds"].as_int() == 1);
  // integer counts that differ between seeds are averaged like any measurement
  json::Value c = json::parse(R"({"top1": 1.0, "steps": 10})"), d = json::parse(R"({"top1": 1.0, "steps": 20})");
  CHECK(summarize_runs({c, d})["steps"].as_number() == 15.0);
  CHECK(summarize_runs({c, d})["steps_std"].as_number() > 0);
  CHECK_THROWS_WITH_SUBSTR(summarize_runs({}), "no runs");
  CHECK(ablation_subdir("probe-dual", 3, 2) == "probe-dual-seed3");
  CHECK(ablation_subdir("teacher", 0, 1) == "teacher");
}

TEST_CASE("ablation: arms x seeds -> sub-runs, table, chart, ablation.json and the final line") {
  TempDir tmp;
  Flags flags("toy", "a toy app", {{"ablate", "compare the arms"}});
  flags.parse(std::vector<std::string>{"ablate", "--seed", "4", "--out", tmp.file("abl")});
  Run run(flags);
  AblationSpec spec;
  spec.title = "toy ablation";
  spec.label_headers = {"task", "arm"};
  spec.arms = {AblationArm{"big", {"t", "big"}, "t", "big"}, AblationArm{"small", {"t", "small"}, "t", "small"}};
  spec.columns = {AblationColumn::measured("top-1 %", "top1", 2, true), AblationColumn::plain("params", "params")};
  spec.seeds = 2;
  spec.first_seed = flags.seed();
  spec.reference_by_group["t"] = 10;
  spec.chart_title = "toy";
  std::vector<std::string> calls;
  spec.run_one = [&](const AblationArm& arm, uint64_t seed, const std::string& dir) {
    calls.push_back(arm.name + "/" + std::to_string(seed));
    CHECK(path_exists(dir));
    json::Value m = json::Value::object();
    m["top1"] = (arm.name == "big" ? 60.0 : 30.0) + static_cast<double>(seed);
    m["params"] = arm.name == "big" ? 1000 : 10;
    return m;
  };
  spec.notes = [] { return std::string("Budget: none."); };
  bool extra = false;
  std::vector<AblationResult> results;
  {
    CaptureStdout out;
    results = run_ablation(flags, run, spec, [&](const std::vector<AblationResult>& r) { extra = r.size() == 2; });
    json::Value line = json::parse(lines_of(out.text.str()).back());
    CHECK(line["app"].as_string() == "toy");
    CHECK(line["cmd"].as_string() == "ablate");
    const json::Value& big = line["arms"]["big"];
    CHECK(big["top1"].as_number() == 64.5);  // seeds 4 and 5
    CHECK(big["top1_std"].as_number() == doctest::Approx(std::sqrt(0.5)));
    CHECK(big["seeds"].as_int() == 2);
    CHECK(big["runs"][0].as_number() == 64.0);
    CHECK(line["arms"]["small"]["params"].as_int() == 10);
    // the same line in the run folder
    CHECK(json::parse(read_file(tmp.file("abl/result.json"))) == line);
  }
  CHECK(extra);
  CHECK(calls == std::vector<std::string>{"big/4", "big/5", "small/4", "small/5"});
  CHECK(results[1].runs.size() == 2);
  CHECK(json::parse(read_file(tmp.file("abl/small-seed5/result.json")))["metrics"]["top1"].as_number() == 35.0);
  CHECK(json::parse(read_file(tmp.file("abl/ablation.json")))["big"]["top1"].as_number() == 64.5);
  std::string md = read_file(tmp.file("abl/ablation.md"));
  CHECK(md.find("# toy ablation") != std::string::npos);
  CHECK(md.find("`toy ablate --seed 4 --out ") != std::string::npos);
  CHECK(md.find("| task | arm | top-1 % | params |") != std::string::npos);
  CHECK(md.find("| t | big | 64.50 ± 0.71 | 1000 |") != std::string::npos);
  CHECK(md.find("Budget: none. Mean ± std (sample) over seeds 4..5.") != std::string::npos);
  Image chart = load_image(tmp.file("abl/ablation.png"));
  CHECK(count_color(chart, colors::palette(0)) > 1000);
  CHECK(count_color(chart, colors::palette(1)) > 500);
  CHECK(count_color(chart, kReference) > 100);  // the chance line

  Flags resumed("toy", "a toy app", {{"ablate", "compare the arms"}});
  resumed.parse(std::vector<std::string>{"ablate", "--resume", "x.safetensors", "--out", tmp.file("abl2")});
  Run run2(resumed);
  CHECK_THROWS_WITH_SUBSTR(run_ablation(resumed, run2, spec), "resume one run with toy train --resume");
  AblationSpec twice = spec;
  twice.arms.push_back(spec.arms[0]);
  CHECK_THROWS_WITH_SUBSTR(run_ablation(flags, run, twice), "arm 'big' is listed twice");
}
