// Shape and indexing ops: cat, stack, split, chunk, gather, scatter_add, index_select, embedding,
// repeat, flip, pad, roll. Each forward is compared with a naive loop over row-major indices,
// each backward with finite differences; plus non-contiguous inputs, f32, duplicates under several
// OpenMP threads, and the error paths. Leaves out GPU runs (see the CUDA suites).
#include <functional>

#include "tests/helpers.h"
#include "tensor/backend.h"

using namespace iris;
using iris::testing::noncontiguous;
using iris::testing::randn64;

namespace {

// ---- naive reference helpers ---------------------------------------------------------------

std::vector<int64_t> unravel(const Shape& s, int64_t i) {
  std::vector<int64_t> idx(s.size());
  for (int d = s.size() - 1; d >= 0; --d) {
    idx[d] = i % s[d];
    i /= s[d];
  }
  return idx;
}

int64_t ravel(const Shape& s, const std::vector<int64_t>& idx) {
  int64_t i = 0;
  for (int d = 0; d < s.size(); ++d) i = i * s[d] + idx[d];
  return i;
}

Tensor f64(const std::vector<double>& v, const Shape& s) { return from_vector<double>(v, s); }

// out[i] = x[source(i)] for every element of out_shape: the pattern of every pure data-movement op.
Tensor ref_map(const Tensor& x, const Shape& out_shape,
               const std::function<std::vector<int64_t>(const std::vector<int64_t>&)>& source) {
  std::vector<double> xv = x.to_vector<double>(), out(numel_of(out_shape));
  for (int64_t i = 0; i < numel_of(out_shape); ++i) out[i] = xv[ravel(x.shape(), source(unravel(out_shape, i)))];
  return f64(out, out_shape);
}

void check_gradients(const TensorFn& f, const std::vector<Tensor>& inputs, GradcheckOptions opts = {}) {
  CHECK_GRADCHECK(f, inputs, opts);
}

Tensor i64(const std::vector<int64_t>& v, const Shape& s) { return from_vector<int64_t>(v, s); }
Tensor i32(const std::vector<int32_t>& v, const Shape& s) { return from_vector<int32_t>(v, s); }

// Restores the thread count when a test that forces several threads ends.
struct ThreadsGuard {
  int saved = num_threads();
  explicit ThreadsGuard(int n) { set_num_threads(n); }
  ~ThreadsGuard() { set_num_threads(saved); }
};

}  // namespace

// ---- cat / stack ------------------------------------------------------------------------------

TEST_CASE("cat matches a naive loop, with non-contiguous inputs and promotion") {
  Tensor a = randn64({2, 1, 3}, 1), b = randn64({2, 4, 3}, 2), c = randn64({2, 2, 3}, 3);
  auto ref = [&](const Tensor& x0, const Tensor& x1, const Tensor& x2) {
    std::vector<double> v0 = x0.to_vector<double>(), v1 = x1.to_vector<double>(), v2 = x2.to_vector<double>();
    std::vector<double> out;
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) out.push_back(v0[i * 3 + j]);
      for (int j = 0; j < 12; ++j) out.push_back(v1[i * 12 + j]);
      for (int j = 0; j < 6; ++j) out.push_back(v2[i * 6 + j]);
    }
    return f64(out, {2, 7, 3});
  };
  CHECK_CLOSE(cat({a, b, c}, 1), ref(a, b, c), 0, 0);
  CHECK_CLOSE(cat({a, b, c}, -2), ref(a, b, c), 0, 0);
  Tensor out_nc = cat({noncontiguous(a), b.permute({0, 1, 2}), noncontiguous(c)}, 1);
  CHECK_CLOSE(out_nc, ref(a, b, c), 0, 0);
  // f32, a transposed input and an expanded one.
  Tensor bt = b.to(DType::f32).transpose(1, 2).contiguous().transpose(1, 2);
  CHECK(!bt.is_contiguous());
  Tensor e = from_vector<float>({1, 2, 3}, {1, 1, 3}).expand({2, 2, 3});
  Tensor out32 = cat({a.to(DType::f32), bt, e}, 1);
  CHECK(out32.dtype() == DType::f32);
  CHECK_CLOSE(out32, ref(a, b, e), 1e-6, 1e-6);
  // dim 0, a size-0 piece, and promotion i64 + f32 -> f32.
  Tensor ints = i64({1, 2, 3, 4}, {2, 2});
  Tensor flt = from_vector<float>({0.5f, 1.5f}, {1, 2});
  Tensor mixed = cat({ints, zeros({0, 2}), flt}, 0);
  CHECK(mixed.dtype() == DType::f32);
  CHECK(mixed.to_vector<float>() == std::vector<float>{1, 2, 3, 4, 0.5f, 1.5f});
  CHECK(cat({ints}, 1).to_vector<int64_t>() == std::vector<int64_t>{1, 2, 3, 4});
  CHECK(cat({ints, ints}, 1).shape() == Shape{2, 4});
}

TEST_CASE("cat and stack backward") {
  Tensor a = randn64({2, 1, 3}, 4), b = noncontiguous(randn64({2, 3, 3}, 5)), c = randn64({2, 2, 3}, 6);
  check_gradients([](const std::vector<Tensor>& v) { return cat(v, 1); }, {a, b, c});
  check_gradients([](const std::vector<Tensor>& v) { return cat(v, 0); }, {randn64({1, 3}, 7), randn64({2, 3}, 8)});
  // A tensor used twice and a constant input without grad.
  Tensor k = randn64({2, 3}, 9, false);
  check_gradients([k](const std::vector<Tensor>& v) { return cat({v[0], k, mul(v[0], v[0])}, -1); }, {randn64({2, 3}, 10)});
  // Mixed dtypes: the f32 input gets an f32 gradient.
  Tensor w32 = ones({1, 2}).requires_grad_();
  Tensor w64 = ones({1, 2}, DType::f64).requires_grad_();
  Tensor y = cat({w32, w64}, 0);
  CHECK(y.dtype() == DType::f64);
  sum(mul(y, f64({1, 2, 3, 4}, {2, 2}))).backward();
  CHECK(w32.grad().dtype() == DType::f32);
  CHECK(w32.grad().to_vector<float>() == std::vector<float>{1, 2});
  CHECK(w64.grad().to_vector<double>() == std::vector<double>{3, 4});

  check_gradients([](const std::vector<Tensor>& v) { return stack(v, 1); },
                  {randn64({2, 3}, 11), noncontiguous(randn64({2, 3}, 12))});
}

TEST_CASE("stack matches a naive loop") {
  Tensor a = randn64({2, 3}, 13, false), b = randn64({2, 3}, 14, false);
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  for (int64_t dim : {0, 1, 2, -1}) {
    Tensor s = stack({a, noncontiguous(b)}, dim);
    int d = dim < 0 ? dim + 3 : dim;
    Shape expect_shape{2, 3};
    expect_shape.insert(d, 2);
    REQUIRE(s.shape() == expect_shape);
    std::vector<double> sv = s.to_vector<double>();
    for (int64_t i = 0; i < s.numel(); ++i) {
      std::vector<int64_t> idx = unravel(s.shape(), i);
      int64_t which = idx[d];
      idx.erase(idx.begin() + d);
      CHECK(sv[i] == (which == 0 ? av : bv)[idx[0] * 3 + idx[1]]);
    }
  }
  CHECK(stack({scalar_tensor(1), scalar_tensor(2)}).to_vector<float>() == std::vector<float>{1, 2});
}

TEST_CASE("cat and stack errors") {
  CHECK_THROWS_WITH_SUBSTR(cat({}), "at least one tensor");
  CHECK_THROWS_WITH_SUBSTR(cat({zeros({2, 3}), Tensor()}), "tensor 1 is undefined");
  CHECK_THROWS_WITH_SUBSTR(cat({zeros({2, 3}), zeros({2, 4})}, 0), "differ in dim 1");
  CHECK_THROWS_WITH_SUBSTR(cat({zeros({2, 3}), zeros({2, 4})}, 0), "[2, 4]");
  CHECK_THROWS_WITH_SUBSTR(cat({zeros({2, 3}), zeros({2, 3, 1})}, 0), "same number of dims");
  CHECK_THROWS_WITH_SUBSTR(cat({scalar_tensor(1), scalar_tensor(2)}), "0-d");
  CHECK_THROWS_WITH_SUBSTR(cat({zeros({2}), zeros({2})}, 1), "out of range");
  CHECK_THROWS_WITH_SUBSTR(stack({zeros({2, 3}), zeros({3, 2})}), "one shape");
  CHECK_THROWS_WITH_SUBSTR(stack({}), "at least one tensor");
  CHECK_THROWS_WITH_SUBSTR(stack({zeros({2})}, 2), "out of range");
}

// ---- split / chunk ----------------------------------------------------------------------------

TEST_CASE("split and chunk give views of the right pieces") {
  Tensor x = arange(0, 14, 1, DType::f64).reshape({2, 7});
  std::vector<Tensor> parts = split(x, 3, 1);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].shape() == Shape{2, 3});
  CHECK(parts[2].shape() == Shape{2, 1});
  CHECK(parts[1].to_vector<double>() == std::vector<double>{3, 4, 5, 10, 11, 12});
  CHECK(parts[2].to_vector<double>() == std::vector<double>{6, 13});
  CHECK(parts[1].shares_storage(x));

  std::vector<Tensor> bylist = split(x, std::vector<int64_t>{1, 0, 6}, -1);
  REQUIRE(bylist.size() == 3);
  CHECK(bylist[0].to_vector<double>() == std::vector<double>{0, 7});
  CHECK(bylist[1].shape() == Shape{2, 0});
  CHECK(bylist[2].to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13});

  // As torch.chunk: ceil(n / chunks) per piece, so 5 into 4 gives 3 pieces, 6 into 4 as well.
  auto sizes = [](const std::vector<Tensor>& ts, int dim) {
    std::vector<int64_t> s;
    for (const Tensor& t : ts) s.push_back(t.shape()[dim]);
    return s;
  };
  CHECK(sizes(chunk(zeros({5}), 4), 0) == std::vector<int64_t>{2, 2, 1});
  CHECK(sizes(chunk(zeros({6}), 4), 0) == std::vector<int64_t>{2, 2, 2});
  CHECK(sizes(chunk(zeros({3, 7}), 2, 1), 1) == std::vector<int64_t>{4, 3});
  CHECK(sizes(chunk(zeros({1}), 3), 0) == std::vector<int64_t>{1});
  CHECK(sizes(chunk(zeros({0}), 3), 0) == std::vector<int64_t>{0, 0, 0});
  CHECK(sizes(split(zeros({0}), 2), 0) == std::vector<int64_t>{0});
  CHECK(sizes(split(zeros({0}), 0), 0) == std::vector<int64_t>{0});
  Tensor xs = noncontiguous(x);
  std::vector<Tensor> c = chunk(xs, 2, 0);
  CHECK(c[1].to_vector<double>() == std::vector<double>{7, 8, 9, 10, 11, 12, 13});
}

TEST_CASE("split and chunk backward") {
  auto f = [](const std::vector<Tensor>& v) {
    std::vector<Tensor> p = split(v[0], std::vector<int64_t>{2, 1, 2}, 1);
    std::vector<Tensor> q = chunk(v[0], 2, 0);
    return add(cat({mul(p[2], 3.0), p[0]}, 1), sum(q[1]));
  };
  check_gradients(f, {randn64({3, 5}, 20)});
  check_gradients(f, {noncontiguous(randn64({3, 5}, 21))});
}

TEST_CASE("split and chunk errors") {
  CHECK_THROWS_WITH_SUBSTR(split(zeros({4}), 0), "split_size must be positive");
  CHECK_THROWS_WITH_SUBSTR(split(zeros({4}), -2), "split_size must be positive");
  CHECK_THROWS_WITH_SUBSTR(split(zeros({4}), std::vector<int64_t>{1, 2}), "add up to 3");
  CHECK_THROWS_WITH_SUBSTR(split(zeros({4}), std::vector<int64_t>{5, -1}), "non-negative");
  CHECK_THROWS_WITH_SUBSTR(split(scalar_tensor(1), 1), "0-d");
  CHECK_THROWS_WITH_SUBSTR(split(zeros({4}), 1, 1), "out of range");
  CHECK_THROWS_WITH_SUBSTR(chunk(zeros({4}), 0), "must be positive, got 0");
  CHECK_THROWS_WITH_SUBSTR(chunk(zeros({4}), -3), "must be positive, got -3");
  CHECK_THROWS_WITH_SUBSTR(chunk(scalar_tensor(1), 2), "0-d");
}

// ---- gather / scatter_add ---------------------------------------------------------------------

TEST_CASE("gather matches a naive loop") {
  Tensor x = randn64({3, 4, 5}, 30, false);
  Generator gen(31);
  for (int dim = 0; dim < 3; ++dim) {
    // index smaller than x in the other dims, larger along dim (values repeat).
    Shape is{2, 3, 4};
    is[dim] = 6;
    Tensor index = randint(0, x.shape()[dim], is, DType::i64, &gen);
    std::vector<int64_t> iv = index.to_vector<int64_t>();
    Tensor expect = ref_map(x, is, [&](std::vector<int64_t> at) {
      at[dim] = iv[ravel(is, at)];
      return at;
    });
    CHECK_CLOSE(gather(x, dim, index), expect, 0, 0);
    CHECK_CLOSE(gather(x, dim - 3, index.to(DType::i32)), expect, 0, 0);
    CHECK_CLOSE(gather(noncontiguous(x), dim, index), expect, 0, 0);
    CHECK_CLOSE(gather(x.to(DType::f32), dim, index), expect, 1e-6, 1e-6);
    // A permuted (non-contiguous) index.
    Tensor index_t = index.transpose(0, 2).contiguous().transpose(0, 2);
    CHECK_CLOSE(gather(x, dim, index_t), expect, 0, 0);
  }
  // Integer data, 0-d, and an empty index.
  Tensor ints = i64({10, 11, 12, 13}, {2, 2});
  CHECK(gather(ints, 1, i64({1, 1, 0, 1}, {2, 2})).to_vector<int64_t>() == std::vector<int64_t>{11, 11, 12, 13});
  CHECK(gather(scalar_tensor(5.0), 0, scalar_tensor(0, DType::i64)).item() == 5.0);
  CHECK(gather(ints, 0, zeros({0, 2}, DType::i64)).shape() == Shape{0, 2});
}

TEST_CASE("gather backward accumulates over repeated indices") {
  Tensor index = i64({0, 0, 2, 1, 2, 2, 0, 1}, {2, 4});
  check_gradients([index](const std::vector<Tensor>& v) { return gather(v[0], 1, index); }, {randn64({3, 3}, 32)});
  check_gradients([index](const std::vector<Tensor>& v) { return gather(v[0], 0, index.slice(1, 0, 2)); },
                  {noncontiguous(randn64({3, 3}, 33))});
  Tensor w = zeros({3}, DType::f64).requires_grad_();
  sum(gather(w, 0, i64({2, 2, 2, 0}, {4}))).backward();
  CHECK(w.grad().to_vector<double>() == std::vector<double>{1, 0, 3});
}

TEST_CASE("scatter_add matches a naive loop, with duplicates and a larger src") {
  Tensor x = randn64({4, 3, 2}, 40, false);
  Generator gen(41);
  for (int dim = 0; dim < 3; ++dim) {
    Shape is{2, 2, 2};
    is[dim] = 5;
    Shape ss{3, 3, 2};
    ss[dim] = 6;
    Tensor index = randint(0, x.shape()[dim], is, DType::i64, &gen);
    Tensor src = randn64(ss, 42 + dim, false);
    std::vector<double> expect = x.to_vector<double>(), sv = src.to_vector<double>();
    std::vector<int64_t> iv = index.to_vector<int64_t>();
    for (int64_t i = 0; i < numel_of(is); ++i) {
      std::vector<int64_t> at = unravel(is, i), to = at;
      to[dim] = iv[i];
      expect[ravel(x.shape(), to)] += sv[ravel(ss, at)];
    }
    CHECK_CLOSE(scatter_add(x, dim, index, src), f64(expect, x.shape()), 1e-12, 0);
    CHECK_CLOSE(scatter_add(noncontiguous(x), dim, index.to(DType::i32), noncontiguous(src)), f64(expect, x.shape()),
                1e-12, 0);
    CHECK_CLOSE(scatter_add(x.to(DType::f32), dim - 3, index, src.to(DType::f32)), f64(expect, x.shape()), 1e-5,
                1e-5);
  }
  // x itself is unchanged; integer accumulation.
  Tensor base = i64({0, 0, 0}, {3});
  Tensor r = scatter_add(base, 0, i64({1, 1, 2, 1}, {4}), i64({5, 6, 7, 8}, {4}));
  CHECK(r.to_vector<int64_t>() == std::vector<int64_t>{0, 19, 7});
  CHECK(base.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0});
  CHECK(scatter_add(scalar_tensor(1.0), 0, scalar_tensor(0, DType::i64), scalar_tensor(2.0)).item() == 3.0);
}

TEST_CASE("scatter_add backward") {
  Tensor index = i64({0, 3, 3, 1, 0, 0}, {3, 2});
  check_gradients([index](const std::vector<Tensor>& v) { return scatter_add(v[0], 0, index, v[1]); },
                  {randn64({4, 2}, 43), randn64({3, 2}, 44)});
  // src larger than index: the part never scattered gets a zero gradient.
  check_gradients([index](const std::vector<Tensor>& v) { return scatter_add(v[0], 0, index, v[1]); },
                  {noncontiguous(randn64({4, 3}, 45)), noncontiguous(randn64({5, 3}, 46))});
  Tensor src = ones({2, 3}, DType::f64).requires_grad_();
  Tensor y = scatter_add(zeros({2, 3}, DType::f64), 1, i64({2, 2, 0, 1}, {2, 2}), src);
  sum(mul(y, f64({1, 2, 3, 4, 5, 6}, {2, 3}))).backward();
  CHECK(src.grad().to_vector<double>() == std::vector<double>{3, 3, 0, 4, 5, 0});
}

TEST_CASE("scatter_add and index_add with duplicates are exact under several threads") {
  ThreadsGuard threads(4);
  // scatter_add along dim 0: 8 sources per column land on 4 rows; 8192 columns make it parallel.
  const int64_t cols = 8192;
  Generator gen(50);
  Tensor index = randint(0, 4, {8, cols}, DType::i64, &gen);
  Tensor src = randint(-50, 50, {8, cols}, DType::i64, &gen).to(DType::f64);  // exact sums
  std::vector<double> expect(4 * cols, 0.0), sv = src.to_vector<double>();
  std::vector<int64_t> iv = index.to_vector<int64_t>();
  for (int64_t j = 0; j < 8; ++j)
    for (int64_t c = 0; c < cols; ++c) expect[iv[j * cols + c] * cols + c] += sv[j * cols + c];
  CHECK_CLOSE(scatter_add(zeros({4, cols}, DType::f64), 0, index, src), f64(expect, {4, cols}), 0, 0);

  // index_add with one outer position (the embedding backward): columns are split across threads.
  const int64_t V = 5, E = 4096, N = 64;
  Tensor tokens = randint(0, V, {N}, DType::i64, &gen);
  Tensor rows = randint(-9, 9, {N, E}, DType::i64, &gen).to(DType::f64);
  Tensor weight = zeros({V, E}, DType::f64).requires_grad_();
  embedding(weight, tokens).backward(rows);
  std::vector<double> expect_w(V * E, 0.0), rv = rows.to_vector<double>();
  std::vector<int64_t> tv = tokens.to_vector<int64_t>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t e = 0; e < E; ++e) expect_w[tv[n] * E + e] += rv[n * E + e];
  CHECK_CLOSE(weight.grad(), f64(expect_w, {V, E}), 0, 0);

  // index_add with many outer positions (index_select backward along dim 1).
  Tensor x = zeros({512, 3, 32}, DType::f64).requires_grad_();
  std::vector<int64_t> pv{2, 0, 2, 2, 1, 0};
  Tensor pick = i64(pv, {6});
  Tensor g = randint(-9, 9, {512, 6, 32}, DType::i64, &gen).to(DType::f64);
  index_select(x, 1, pick).backward(g);
  std::vector<double> expect_x(512 * 3 * 32, 0.0), gv = g.to_vector<double>();
  for (int64_t o = 0; o < 512; ++o)
    for (int64_t j = 0; j < 6; ++j)
      for (int64_t k = 0; k < 32; ++k) expect_x[(o * 3 + pv[j]) * 32 + k] += gv[(o * 6 + j) * 32 + k];
  CHECK_CLOSE(x.grad(), f64(expect_x, {512, 3, 32}), 0, 0);
}

TEST_CASE("gather and scatter_add errors") {
  Tensor x = zeros({3, 4});
  CHECK_THROWS_WITH_SUBSTR(gather(x, 1, i64({0, 4}, {1, 2})), "gather: index 4 is out of range for dim 1 of size 4");
  CHECK_THROWS_WITH_SUBSTR(gather(x, 1, i64({0, 4}, {1, 2})), "0 to 3");
  CHECK_THROWS_WITH_SUBSTR(gather(x, 0, i32({-1, 0}, {1, 2})), "index -1 is out of range");
  CHECK_THROWS_WITH_SUBSTR(gather(x, 1, zeros({1, 2})), "indices must be i64 or i32, got f32");
  CHECK_THROWS_WITH_SUBSTR(gather(x, 1, i64({0, 1}, {2})), "same number of dims");
  CHECK_THROWS_WITH_SUBSTR(gather(x, 1, zeros({4, 1}, DType::i64)), "index.size(0) = 4 exceeds x.size(0) = 3");
  CHECK_THROWS_WITH_SUBSTR(gather(x, 2, zeros({1, 1}, DType::i64)), "out of range");
  CHECK_THROWS_WITH_SUBSTR(gather(zeros({2, 0}), 1, zeros({2, 1}, DType::i64)), "size 0");
  CHECK_THROWS_WITH_SUBSTR(gather(Tensor(), 0, zeros({1}, DType::i64)), "undefined");

  Tensor src = ones({2, 4});
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 0, i64({0, 3}, {1, 2}), src), "scatter_add: index 3 is out of range for dim 0 of size 3");
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 0, i64({0, 1}, {1, 2}), src.to(DType::f64)), "src has dtype f64");
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 0, zeros({3, 4}, DType::i64), src), "exceeds src.size(0) = 2");
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 0, zeros({1, 5}, DType::i64), ones({1, 5})), "exceeds x.size(1) = 4");
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 0, zeros({1, 2}, DType::u8), src), "indices must be i64 or i32");
  CHECK_THROWS_WITH_SUBSTR(scatter_add(x, 0, zeros({2}, DType::i64), src), "same number of dims");
  // Nothing was written by the failed call (the range check runs first).
  Tensor y = zeros({3});
  CHECK_THROWS_WITH_SUBSTR(backend(Device::cpu()).scatter_add(y, 0, i64({0, 7}, {2}), ones({2})), "index 7");
  CHECK(y.to_vector<float>() == std::vector<float>{0, 0, 0});
}

// ---- index_select / embedding -----------------------------------------------------------------

TEST_CASE("index_select matches a naive loop") {
  Tensor x = randn64({3, 4, 5}, 60, false);
  for (int dim = 0; dim < 3; ++dim) {
    std::vector<int64_t> picks{x.shape()[dim] - 1, 0, 1, 0};
    Shape os = x.shape();
    os[dim] = 4;
    Tensor expect = ref_map(x, os, [&](std::vector<int64_t> at) {
      at[dim] = picks[at[dim]];
      return at;
    });
    CHECK_CLOSE(index_select(x, dim, i64(picks, {4})), expect, 0, 0);
    CHECK_CLOSE(index_select(noncontiguous(x), dim - 3, i64(picks, {4}).to(DType::i32)), expect, 0, 0);
    CHECK_CLOSE(index_select(x.to(DType::f32), dim, i64(picks, {4})), expect, 1e-6, 1e-6);
    // A strided index.
    Tensor wide = i64({picks[0], 9, picks[1], 9, picks[2], 9, picks[3], 9}, {8}).slice(0, 0, 8, 2);
    CHECK_CLOSE(index_select(x.permute({2, 0, 1}).contiguous().permute({1, 2, 0}), dim, wide), expect, 0, 0);
  }
  Tensor one = index_select(x, 1, scalar_tensor(2, DType::i64));  // a 0-d index keeps the dim, size 1
  CHECK(one.shape() == Shape{3, 1, 5});
  CHECK_CLOSE(one, x.slice(1, 2, 3), 0, 0);
  CHECK(index_select(x, 0, zeros({0}, DType::i64)).shape() == Shape{0, 4, 5});
  CHECK(index_select(scalar_tensor(4.0), 0, i64({0}, {1})).dim() == 0);
  CHECK(index_select(i64({7, 8, 9}, {3}), 0, i64({2, 2}, {2})).to_vector<int64_t>() == std::vector<int64_t>{9, 9});
}

TEST_CASE("index_select and embedding backward") {
  Tensor picks = i64({2, 0, 2, 2}, {4});
  check_gradients([picks](const std::vector<Tensor>& v) { return index_select(v[0], 1, picks); },
                  {randn64({2, 3, 2}, 61)});
  check_gradients([picks](const std::vector<Tensor>& v) { return index_select(v[0], 0, picks.to(DType::i32)); },
                  {noncontiguous(randn64({3, 3}, 62))});
  Tensor tokens = i64({1, 4, 1, 0, 4, 4}, {2, 3});
  check_gradients([tokens](const std::vector<Tensor>& v) { return embedding(v[0], tokens); }, {randn64({5, 3}, 63)});
  check_gradients([tokens](const std::vector<Tensor>& v) { return embedding(v[0], tokens.t()); },
                  {noncontiguous(randn64({5, 3}, 64))});
}

TEST_CASE("embedding matches a naive loop") {
  Tensor w = randn64({6, 3}, 65, false);
  std::vector<int64_t> tv{5, 0, 2, 2, 1, 5};
  Tensor tokens = i64(tv, {2, 3});
  Tensor out = embedding(w, tokens);
  REQUIRE(out.shape() == Shape{2, 3, 3});
  Tensor expect = ref_map(w, {2, 3, 3}, [&](const std::vector<int64_t>& at) {
    return std::vector<int64_t>{tv[at[0] * 3 + at[1]], at[2]};
  });
  CHECK_CLOSE(out, expect, 0, 0);
  CHECK_CLOSE(embedding(noncontiguous(w).to(DType::f32), tokens.to(DType::i32)), expect, 1e-6, 1e-6);
  CHECK(embedding(w, scalar_tensor(2, DType::i64)).shape() == Shape{3});
  CHECK(embedding(w, zeros({0}, DType::i64)).shape() == Shape{0, 3});
}

TEST_CASE("index_select and embedding errors") {
  Tensor x = zeros({3, 4});
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, i64({1, 3}, {2})), "index_select: index 3 is out of range for dim 0 of size 3");
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 1, i64({-2}, {1})), "index -2 is out of range");
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, zeros({2, 1}, DType::i64)), "0-d or 1-d");
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 0, zeros({2}, DType::f64)), "indices must be i64 or i32, got f64");
  CHECK_THROWS_WITH_SUBSTR(index_select(x, 2, zeros({2}, DType::i64)), "out of range for a tensor with 2 dims");
  CHECK_THROWS_WITH_SUBSTR(index_select(scalar_tensor(1.0), 0, zeros({2}, DType::i64)), "exactly one index");
  Tensor w = zeros({5, 2});
  CHECK_THROWS_WITH_SUBSTR(embedding(w, i64({0, 5}, {2})), "embedding: index_select: index 5 is out of range");
  CHECK_THROWS_WITH_SUBSTR(embedding(w, i64({0, 5}, {2})), "0 to 4");
  CHECK_THROWS_WITH_SUBSTR(embedding(zeros({5}), i64({0}, {1})), "weight must have 2 dims");
  CHECK_THROWS_WITH_SUBSTR(embedding(w, zeros({2})), "embedding: indices must be i64 or i32");
  CHECK_THROWS_WITH_SUBSTR(embedding(w, zeros({1, 1, 1, 1, 1, 1, 1, 1}, DType::i64)), "more than 8 dims");
}

// ---- repeat / flip ----------------------------------------------------------------------------

TEST_CASE("repeat matches a naive loop") {
  Tensor x = randn64({2, 3}, 70, false);
  struct Case {
    Shape repeats, out;
  };
  for (const Case& c : {Case{{2, 1}, {4, 3}}, Case{{1, 3}, {2, 9}}, Case{{2, 1, 2}, {2, 2, 6}},
                        Case{{3, 2, 2}, {3, 4, 6}}, Case{{1, 1}, {2, 3}}, Case{{0, 2}, {0, 6}}}) {
    Tensor expect = ref_map(x, c.out, [&](const std::vector<int64_t>& at) {
      size_t lead = at.size() - 2;
      return std::vector<int64_t>{at[lead] % 2, at[lead + 1] % 3};
    });
    CHECK_CLOSE(repeat(x, c.repeats), expect, 0, 0);
    CHECK_CLOSE(repeat(noncontiguous(x), c.repeats), expect, 0, 0);
    CHECK_CLOSE(repeat(x.to(DType::f32), c.repeats), expect, 1e-6, 1e-6);
  }
  Tensor r = repeat(scalar_tensor(2.5), {3});
  CHECK(r.shape() == Shape{3});
  CHECK(r.to_vector<float>() == std::vector<float>{2.5f, 2.5f, 2.5f});
  Tensor same = repeat(x, {1, 1});
  CHECK(!same.shares_storage(x));  // always a copy, as PyTorch
  CHECK(repeat(x.expand({4, 2, 3}).select(0, 1), {1, 2}).shape() == Shape{2, 6});
}

TEST_CASE("repeat and flip backward") {
  check_gradients([](const std::vector<Tensor>& v) { return repeat(v[0], {2, 1, 3}); }, {randn64({2, 3}, 71)});
  check_gradients([](const std::vector<Tensor>& v) { return repeat(v[0], {2, 2}); }, {noncontiguous(randn64({3, 1}, 72))});
  check_gradients([](const std::vector<Tensor>& v) { return flip(v[0], {0, 2}); }, {randn64({2, 3, 4}, 73)});
  check_gradients([](const std::vector<Tensor>& v) { return flip(v[0], {-1}); }, {noncontiguous(randn64({3, 5}, 74))});
}

TEST_CASE("flip matches a naive loop") {
  Tensor x = randn64({2, 3, 4}, 75, false);
  std::vector<std::vector<int64_t>> cases{{0}, {1}, {-1}, {0, 2}, {2, 0, 1}};
  for (const auto& dims : cases) {
    Tensor expect = ref_map(x, x.shape(), [&](std::vector<int64_t> at) {
      for (int64_t d : dims) {
        int k = d < 0 ? d + 3 : d;
        at[k] = x.shape()[k] - 1 - at[k];
      }
      return at;
    });
    CHECK_CLOSE(flip(x, dims), expect, 0, 0);
    CHECK_CLOSE(flip(noncontiguous(x).to(DType::f32), dims), expect, 1e-6, 1e-6);
  }
  Tensor ones_dim = randn64({1, 3}, 76, false);
  Tensor f = flip(ones_dim, {0});
  CHECK(!f.shares_storage(ones_dim));
  CHECK_CLOSE(f, ones_dim, 0, 0);
  CHECK_CLOSE(flip(x, {}), x, 0, 0);
  CHECK(flip(i64({1, 2, 3}, {3}), {0}).to_vector<int64_t>() == std::vector<int64_t>{3, 2, 1});
  CHECK(flip(scalar_tensor(3.0), {0}).item() == 3.0);
}

TEST_CASE("repeat and flip errors") {
  CHECK_THROWS_WITH_SUBSTR(repeat(zeros({2, 3}), {2}), "at least one per dim");
  CHECK_THROWS_WITH_SUBSTR(repeat(zeros({2, 3}), {2, -1}), "non-negative");
  CHECK_THROWS_WITH_SUBSTR(flip(zeros({2, 3}), {0, 0}), "appears twice");
  CHECK_THROWS_WITH_SUBSTR(flip(zeros({2, 3}), {1, -1}), "appears twice");
  CHECK_THROWS_WITH_SUBSTR(flip(zeros({2, 3}), {2}), "out of range");
}

// ---- pad --------------------------------------------------------------------------------------

TEST_CASE("constant pad matches a naive loop, including negative pads that crop") {
  Tensor x = randn64({2, 3, 4}, 80, false);
  for (const std::vector<int64_t>& pads : std::vector<std::vector<int64_t>>{
           {1, 2}, {0, 0, 2, 1}, {1, 1, 1, 1, 1, 1}, {-1, 2}, {2, -3, -1, 0}, {0, 0}}) {
    Shape os = x.shape();
    std::vector<int64_t> before(3, 0);
    for (size_t p = 0; p * 2 < pads.size(); ++p) {
      int d = 2 - static_cast<int>(p);
      before[d] = pads[2 * p];
      os[d] += pads[2 * p] + pads[2 * p + 1];
    }
    std::vector<double> xv = x.to_vector<double>(), expect(numel_of(os));
    for (int64_t i = 0; i < numel_of(os); ++i) {
      std::vector<int64_t> at = unravel(os, i);
      bool inside = true;
      for (int d = 0; d < 3; ++d) {
        at[d] -= before[d];
        inside = inside && at[d] >= 0 && at[d] < x.shape()[d];
      }
      expect[i] = inside ? xv[ravel(x.shape(), at)] : 0.25;
    }
    CHECK_CLOSE(pad(x, pads, PadMode::constant, 0.25), f64(expect, os), 0, 0);
    CHECK_CLOSE(pad(noncontiguous(x).to(DType::f32), pads, PadMode::constant, 0.25), f64(expect, os), 1e-6, 1e-6);
  }
  // torch.nn.functional.pad(torch.arange(5.).reshape(1, 5), (-1, 2), value=7.)
  CHECK(pad(arange(0, 5, 1, DType::f32).reshape({1, 5}), {-1, 2}, PadMode::constant, 7).to_vector<float>() ==
        std::vector<float>{1, 2, 3, 4, 7, 7});
  CHECK(pad(i64({1, 2}, {2}), {1, 0}, PadMode::constant, 9).to_vector<int64_t>() == std::vector<int64_t>{9, 1, 2});
  CHECK(pad(zeros({2, 3}), {-2, -1}).shape() == Shape{2, 0});
}

TEST_CASE("reflect pad matches PyTorch and a naive loop") {
  // torch.nn.functional.pad(torch.arange(12.).reshape(1, 3, 4), (2, 3, 1, 2), mode='reflect').flatten().tolist()
  std::vector<float> torch_values{6, 5, 4, 5, 6, 7, 6, 5, 4, 2, 1, 0, 1, 2, 3, 2, 1, 0, 6, 5, 4, 5, 6, 7, 6, 5, 4,
                                  10, 9, 8, 9, 10, 11, 10, 9, 8, 6, 5, 4, 5, 6, 7, 6, 5, 4, 2, 1, 0, 1, 2, 3, 2, 1, 0};
  Tensor x = arange(0, 12, 1, DType::f32).reshape({1, 3, 4});
  Tensor y = pad(x, {2, 3, 1, 2}, PadMode::reflect);
  CHECK(y.shape() == Shape{1, 6, 9});
  CHECK(y.to_vector<float>() == torch_values);
  CHECK(pad(noncontiguous(x), {2, 3, 1, 2}, PadMode::reflect).to_vector<float>() == torch_values);

  Tensor z = randn64({2, 4, 3}, 81, false);
  auto reflect = [](int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; };
  Tensor expect = ref_map(z, {4, 7, 5}, [&](const std::vector<int64_t>& at) {
    return std::vector<int64_t>{reflect(at[0] - 1, 2), reflect(at[1] - 3, 4), reflect(at[2] - 0, 3)};
  });
  CHECK_CLOSE(pad(z, {0, 2, 3, 0, 1, 1}, PadMode::reflect), expect, 0, 0);
  CHECK_CLOSE(pad(z, {0, 0}, PadMode::reflect), z, 0, 0);
}

TEST_CASE("pad backward") {
  check_gradients([](const std::vector<Tensor>& v) { return pad(v[0], {1, 2, 0, 1}, PadMode::constant, 3.0); },
                  {randn64({2, 3, 3}, 82)});
  check_gradients([](const std::vector<Tensor>& v) { return pad(v[0], {-1, 2, 1, -1}); },
                  {noncontiguous(randn64({3, 4}, 83))});
  check_gradients([](const std::vector<Tensor>& v) { return pad(v[0], {2, 1, 1, 2}, PadMode::reflect); },
                  {randn64({2, 3, 4}, 84)});
  check_gradients([](const std::vector<Tensor>& v) { return pad(v[0], {3, 3}, PadMode::reflect); },
                  {noncontiguous(randn64({2, 4}, 85))});
}

TEST_CASE("pad errors") {
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 3}), {1, 2, 3}), "pairs, got 3 values");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({3}), {1, 1, 1, 1}), "at most one pair per dim");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 3}), {-2, -2}), "negative size -1");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 3}), {3, 0}, PadMode::reflect), "too large for dim 1 of size 3");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 3}), {0, 0, 0, 2}, PadMode::reflect), "too large for dim 0 of size 2");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 3}), {-1, 0}, PadMode::reflect), "non-negative");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 3}), {1, 1}, PadMode::reflect, 2.0), "no fill value");
  CHECK_THROWS_WITH_SUBSTR(pad(zeros({2, 0}), {1, 1}, PadMode::reflect), "size 0");
}

// ---- roll -------------------------------------------------------------------------------------

TEST_CASE("roll matches PyTorch and a naive loop") {
  // torch.roll(torch.arange(12).reshape(3, 4), (1, -2, 1), (0, 1, 0)).flatten().tolist()
  Tensor a = arange(12).reshape({3, 4});
  CHECK(roll(a, {1, -2, 1}, {0, 1, 0}).to_vector<int64_t>() ==
        std::vector<int64_t>{6, 7, 4, 5, 10, 11, 8, 9, 2, 3, 0, 1});
  // torch.roll(torch.arange(6).reshape(2, 3), 4).flatten().tolist()
  Tensor b = arange(6).reshape({2, 3});
  CHECK(roll(b, {4}, {}).to_vector<int64_t>() == std::vector<int64_t>{2, 3, 4, 5, 0, 1});
  CHECK(roll(b, {4}, {}).shape() == Shape{2, 3});

  Tensor x = randn64({3, 4, 5}, 90, false);
  struct Case {
    std::vector<int64_t> shifts, dims;
  };
  for (const Case& c : {Case{{1}, {0}}, Case{{-7, 2}, {2, 1}}, Case{{5, 0, 13}, {2, 0, -2}}, Case{{4, 4}, {1, 1}}}) {
    Tensor expect = ref_map(x, x.shape(), [&](std::vector<int64_t> at) {
      for (size_t i = 0; i < c.dims.size(); ++i) {
        int d = c.dims[i] < 0 ? c.dims[i] + 3 : c.dims[i];
        int64_t n = x.shape()[d];
        at[d] = (((at[d] - c.shifts[i]) % n) + n) % n;
      }
      return at;
    });
    CHECK_CLOSE(roll(x, c.shifts, c.dims), expect, 0, 0);
    CHECK_CLOSE(roll(noncontiguous(x).to(DType::f32), c.shifts, c.dims), expect, 1e-6, 1e-6);
  }
  Tensor unrolled = roll(x, {5}, {2});
  CHECK(!unrolled.shares_storage(x));
  CHECK_CLOSE(unrolled, x, 0, 0);
  CHECK(roll(scalar_tensor(2.0), {3}, {}).item() == 2.0);
  CHECK(roll(zeros({0, 2}), {1}, {0}).shape() == Shape{0, 2});
}

TEST_CASE("roll backward and errors") {
  check_gradients([](const std::vector<Tensor>& v) { return roll(v[0], {1, -2}, {0, 1}); }, {randn64({3, 4}, 91)});
  check_gradients([](const std::vector<Tensor>& v) { return roll(v[0], {3}, {}); }, {noncontiguous(randn64({2, 3}, 92))});
  CHECK_THROWS_WITH_SUBSTR(roll(zeros({2, 3}), {1, 2}, {0}), "one shift per dim");
  CHECK_THROWS_WITH_SUBSTR(roll(zeros({2, 3}), {1, 2}, {}), "exactly one shift");
  CHECK_THROWS_WITH_SUBSTR(roll(zeros({2, 3}), {1}, {2}), "out of range");
}
