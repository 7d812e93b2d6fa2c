// nn/: the Module tree (names, shared weights, modes, state dicts and their errors), the layers,
// initialisation statistics, optimisers against hand-written update rules, clipping, schedules, EMA.
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::nn;
using iris::testing::randn64;

namespace {

struct TwoLayer : Module {
  std::shared_ptr<Linear> fc1, fc2;
  std::shared_ptr<LayerNorm> norm;
  TwoLayer(bool tie) : Module("TwoLayer") {
    fc1 = register_module("fc1", std::make_shared<Linear>(4, 4));
    fc2 = register_module("fc2", std::make_shared<Linear>(4, 4));
    norm = register_module("norm", std::make_shared<LayerNorm>(4));
    if (tie) fc2->weight = fc1->weight;  // MiniViT-style sharing: one tensor, two places
  }
  Tensor forward(const Tensor& x) override { return fc2->forward(relu(norm->forward(fc1->forward(x)))); }
};

}  // namespace

TEST_CASE("module names, parameter counts and shared weights") {
  TwoLayer m(false);
  std::vector<std::string> names;
  for (auto& [n, t] : m.named_parameters()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "norm.weight", "norm.bias"});
  CHECK(m.parameter_count() == 16 + 4 + 16 + 4 + 4 + 4);

  TwoLayer tied(true);
  CHECK(tied.parameter_count() == 16 + 4 + 4 + 4 + 4);  // the shared weight counts once
  CHECK(tied.named_parameters().size() == 5);
  CHECK(tied.state_dict().size() == 6);  // but the state dict names it twice, as PyTorch
  // both uses contribute to the one gradient
  Tensor x = randn({3, 4});
  sum(tied.forward(x)).backward();
  Tensor g_tied = tied.fc1->weight.grad();
  REQUIRE(g_tied.defined());
  CHECK(tied.fc2->weight.grad().shares_storage(g_tied));

  auto mods = m.named_modules();
  CHECK(mods.size() == 4);
  CHECK(mods[1].first == "fc1");
  CHECK(m.summary().find("fc1: Linear weight[4, 4]") != std::string::npos);
}

TEST_CASE("train/eval propagate; zero_grad clears") {
  TwoLayer m(false);
  m.eval();
  CHECK_FALSE(m.fc1->is_training());
  m.train();
  CHECK(m.norm->is_training());
  sum(m.forward(randn({2, 4}))).backward();
  CHECK(m.fc1->weight.grad().defined());
  m.zero_grad();
  CHECK_FALSE(m.fc1->weight.grad().defined());
}

TEST_CASE("state dicts round trip and report mismatches") {
  TwoLayer a(false), b(false);
  NamedTensors sd = a.state_dict();
  b.load_state_dict(sd);
  CHECK(b.fc2->bias.to_vector<float>() == a.fc2->bias.to_vector<float>());
  // values are copied, not aliased
  CHECK_FALSE(b.fc2->bias.shares_storage(a.fc2->bias));

  NamedTensors missing(sd.begin() + 1, sd.end());
  CHECK_THROWS_WITH_SUBSTR(b.load_state_dict(missing), "missing keys (1): fc1.weight");
  NamedTensors extra = sd;
  extra.push_back({"head.weight", zeros({2})});
  CHECK_THROWS_WITH_SUBSTR(b.load_state_dict(extra), "unexpected keys (1): head.weight");
  NamedTensors bad = sd;
  bad[0].second = zeros({4, 5});
  CHECK_THROWS_WITH_SUBSTR(b.load_state_dict(bad), "fc1.weight (checkpoint [4, 5], model [4, 4])");
  std::vector<std::string> skipped = b.load_state_dict(bad, false);
  CHECK(std::find(skipped.begin(), skipped.end(), "fc1.weight") != skipped.end());
  // an f64 checkpoint loads into an f32 model
  NamedTensors as64;
  for (auto& [k, v] : sd) as64.push_back({k, v.to(DType::f64)});
  b.load_state_dict(as64);
  CHECK(b.fc1->weight.dtype() == DType::f32);
  // Issue 27: a float tensor relabelled as an integer one (same bytes) was cast and loaded, and NaN
  // weights loaded silently; both are refused now, naming the tensor.
  NamedTensors relabelled = sd;
  relabelled[0].second = zeros({4, 4}, DType::i32);
  CHECK_THROWS_WITH_SUBSTR(b.load_state_dict(relabelled), "fc1.weight (checkpoint dtype i32, model f32)");
  NamedTensors with_nan = sd;
  with_nan[1].second = with_nan[1].second.clone();
  std::vector<float> values = with_nan[1].second.to_vector<float>();
  values[2] = NAN;
  with_nan[1].second = from_vector(values).reshape(with_nan[1].second.shape());
  CHECK_THROWS_WITH_SUBSTR(b.load_state_dict(with_nan), "'" + with_nan[1].first + "' holds a non-finite value (element 2");
  CHECK_THROWS_WITH_SUBSTR(b.load_state_dict(with_nan, false), "non-finite");
  CHECK_THROWS_WITH_SUBSTR(a.to(Device::cuda()), "no CUDA backend");
}

TEST_CASE("layers compute what their ops say") {
  Linear lin(3, 2);
  Tensor x = randn({5, 3});
  CHECK_CLOSE(lin.forward(x), add(matmul(x, lin.weight.t()), lin.bias), 1e-6, 1e-6);
  Linear nobias(3, 2, false);
  CHECK_FALSE(nobias.bias.defined());
  CHECK(nobias.named_parameters().size() == 1);

  Mlp mlp(4, 8, 2);
  Tensor y = randn({2, 4});
  CHECK_CLOSE(mlp.forward(y), mlp.fc2->forward(gelu(mlp.fc1->forward(y))), 1e-6, 1e-6);

  Dropout d(0.5);
  d.eval();
  CHECK(d.forward(x).shares_storage(x));
  DropPath dp(0.5);
  dp.eval();
  CHECK(dp.forward(x).shares_storage(x));
  dp.train();
  Tensor big = ones({2000, 3});
  std::vector<float> v = dp.forward(big).to_vector<float>();
  int kept = 0;
  for (int i = 0; i < 2000; ++i) {
    CHECK((v[i * 3] == 0.0f || v[i * 3] == 2.0f));
    CHECK(v[i * 3] == v[i * 3 + 2]);  // whole samples are dropped or kept
    kept += v[i * 3] != 0.0f;
  }
  CHECK(std::abs(kept - 1000) < 150);
  CHECK_THROWS_WITH_SUBSTR(Linear(0, 3), "must be positive");
  CHECK_THROWS_WITH_SUBSTR(Dropout(1.5), "p must be in [0, 1]");
  CHECK_THROWS_WITH_SUBSTR(activation_from_name("swish"), "unknown activation");
  CHECK_THROWS_WITH_SUBSTR(Module().forward(x), "no single-input forward");
}

TEST_CASE("timm's Linear init draws each Linear once, shared ones too") {
  Generator build(3);
  auto a = std::make_shared<Linear>(4, 3, true, &build), b = std::make_shared<Linear>(3, 2, true, &build);
  ModuleList<Linear> list;
  list.push_back(a), list.push_back(b), list.push_back(a);  // a is shared: registered twice
  Generator g(7), ref(7);
  init_linears_trunc_normal(list, 0.02, &g);
  Tensor wa = empty({3, 4}), wb = empty({2, 3});
  init::trunc_normal_(wa, 0.02, 0.0, -2.0, 2.0, &ref);
  init::trunc_normal_(wb, 0.02, 0.0, -2.0, 2.0, &ref);
  CHECK(max(abs(a->weight - wa)).item() == 0.0);
  CHECK(max(abs(b->weight - wb)).item() == 0.0);
  CHECK(max(abs(a->bias)).item() == 0.0);
  CHECK(max(abs(b->bias)).item() == 0.0);
  Tensor next_g = empty({5}), next_ref = empty({5});  // both streams are at the same place: a drawn once
  init::normal_(next_g, 0.0, 1.0, &g);
  init::normal_(next_ref, 0.0, 1.0, &ref);
  CHECK(max(abs(next_g - next_ref)).item() == 0.0);
}

TEST_CASE("initialisers have the right statistics") {
  Generator g(1);
  Tensor w = empty({256, 512});
  init::kaiming_uniform_(w, 0.0, &g);
  double bound = std::sqrt(6.0 / 512);
  CHECK(max(w).item() <= bound);
  CHECK(min(w).item() >= -bound);
  CHECK(stddev(w).item() == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.02));
  init::xavier_normal_(w, 1.0, &g);
  CHECK(stddev(w).item() == doctest::Approx(std::sqrt(2.0 / (256 + 512))).epsilon(0.02));
  init::trunc_normal_(w, 0.02, 0.0, -0.04, 0.04, &g);
  CHECK(max(abs(w)).item() <= 0.04);
  CHECK(stddev(w).item() == doctest::Approx(0.02 * 0.8796).epsilon(0.03));  // std of N(0,1) cut at +-2
  Tensor c = empty({8, 4, 3, 3});
  CHECK(init::fans_of(c).in == 36);
  CHECK(init::fans_of(c).out == 72);
  CHECK_THROWS_WITH_SUBSTR(init::fans_of(empty({3})), "at least 2 dims");
  // the same generator state gives the same init
  Generator g1(5), g2(5);
  Linear a(4, 4, true, &g1), b(4, 4, true, &g2);
  CHECK(a.weight.to_vector<float>() == b.weight.to_vector<float>());
}

TEST_CASE("SGD and AdamW follow their update rules") {
  // One parameter, fixed gradients; compare with the formulas written out by hand.
  std::vector<double> grads = {0.5, -1.0, 2.0, 0.1};
  auto run = [&](Optimizer& opt, Tensor& p) {
    std::vector<double> out;
    for (double gv : grads) {
      p.set_grad(full({1}, gv, DType::f64));
      opt.step();
      out.push_back(p.item());
    }
    return out;
  };
  {
    Tensor p = full({1}, 1.0, DType::f64).requires_grad_();
    SGD opt({p}, 0.1, 0.9, 0.01, true);
    std::vector<double> got = run(opt, p);
    double w = 1.0, buf = 0;
    for (size_t i = 0; i < grads.size(); ++i) {
      double g = grads[i] + 0.01 * w;
      buf = i == 0 ? g : 0.9 * buf + g;
      w -= 0.1 * (g + 0.9 * buf);
      CHECK(got[i] == doctest::Approx(w).epsilon(1e-12));
    }
  }
  {
    Tensor p = full({1}, 1.0, DType::f64).requires_grad_();
    AdamW opt({p}, 0.01, 0.1, 0.9, 0.99, 1e-8);
    std::vector<double> got = run(opt, p);
    double w = 1.0, m = 0, v = 0;
    for (size_t i = 0; i < grads.size(); ++i) {
      int t = static_cast<int>(i) + 1;
      w -= 0.01 * 0.1 * w;
      m = 0.9 * m + 0.1 * grads[i];
      v = 0.99 * v + 0.01 * grads[i] * grads[i];
      double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.99, t));
      w -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
      CHECK(got[i] == doctest::Approx(w).epsilon(1e-12));
    }
    // state round trip: a copy of the optimiser continues identically
    Tensor q = full({1}, p.item(), DType::f64).requires_grad_();
    AdamW opt2({q}, 0.01, 0.1, 0.9, 0.99, 1e-8);
    opt2.load_state_dict(opt.state_dict());
    CHECK(opt2.steps() == 4);
    p.set_grad(full({1}, 0.3, DType::f64));
    q.set_grad(full({1}, 0.3, DType::f64));
    opt.step();
    opt2.step();
    CHECK(p.item() == q.item());
  }
  CHECK_THROWS_WITH_SUBSTR(AdamW({ones({1}).requires_grad_()}, 0.1, 0.0, 1.0), "betas must be in [0, 1)");
  CHECK_THROWS_WITH_SUBSTR(SGD({ones({1})}, 0.1), "must be a leaf tensor that requires grad");
}

TEST_CASE("decay groups, clipping, schedules, EMA") {
  TwoLayer m(false);
  auto groups = decay_groups(m, 1e-3, 0.05);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].params.size() == 2);  // the two weight matrices
  CHECK(groups[1].params.size() == 4);  // biases and norm parameters
  CHECK(groups[1].weight_decay == 0.0);

  Tensor a = ones({3}).requires_grad_(), b = ones({4}).requires_grad_();
  a.set_grad(full({3}, 3.0));
  b.set_grad(full({4}, 4.0));
  double total = clip_grad_norm_({a, b}, 1.0);
  CHECK(total == doctest::Approx(std::sqrt(27.0 + 64.0)));
  double after = std::sqrt(sum(a.grad() * a.grad()).item() + sum(b.grad() * b.grad()).item());
  CHECK(after == doctest::Approx(1.0).epsilon(1e-5));

  LrSchedule s = LrSchedule::warmup_cosine_schedule(10, 110, 0.1);
  CHECK(s.factor(0) == doctest::Approx(0.1));
  CHECK(s.factor(9) == doctest::Approx(1.0));
  CHECK(s.factor(60) == doctest::Approx(0.1 + 0.9 * 0.5));
  CHECK(s.factor(110) == doctest::Approx(0.1));
  LrSchedule st = LrSchedule::step_schedule(30, 0.1);
  CHECK(st.factor(29) == 1.0);
  CHECK(st.factor(30) == doctest::Approx(0.1));
  AdamW opt(m.parameters(), 0.5);
  opt.set_lr_factor(0.2);
  CHECK(opt.lr() == doctest::Approx(0.1));

  Linear lin(2, 2);
  Ema ema(lin, 0.5);
  Tensor before = lin.weight.detach().clone();
  {
    NoGradGuard ng;
    lin.weight.copy_(zeros({2, 2}));
  }
  ema.update(lin);
  CHECK_CLOSE(ema.shadow()[0].second, before * 0.5, 1e-7, 1e-7);
  ema.copy_to(lin);
  CHECK_CLOSE(lin.weight, before * 0.5, 1e-7, 1e-7);
}
