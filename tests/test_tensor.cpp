// Tensor basics: factories, dtypes, views sharing storage, contiguous(), printing, Philox RNG,
// the caching allocator, the device query, and the error paths of all of these.
#include "tests/helpers.h"
#include "tensor/backend.h"
#include "tensor/device_query.h"

using namespace iris;
using iris::testing::noncontiguous;

TEST_CASE("factories fill the right values") {
  Tensor z = zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::f32);
  CHECK(z.is_contiguous());
  for (float v : z.to_vector<float>()) CHECK(v == 0.0f);
  for (double v : ones({4}, DType::f64).to_vector<double>()) CHECK(v == 1.0);
  for (int64_t v : full({3}, 7, DType::i64).to_vector<int64_t>()) CHECK(v == 7);

  CHECK(arange(5).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(arange(1, 2, 0.25, DType::f64).to_vector<double>() == std::vector<double>{1, 1.25, 1.5, 1.75});
  CHECK(arange(3, 0, -1).to_vector<int64_t>() == std::vector<int64_t>{3, 2, 1});
  CHECK(linspace(0, 1, 5, DType::f64).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(linspace(2, 2, 1).to_vector<float>() == std::vector<float>{2});
  CHECK(eye(2, 3).to_vector<float>() == std::vector<float>{1, 0, 0, 0, 1, 0});
  Tensor fv = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(fv.shape() == Shape{2, 3});
  CHECK(fv.to_vector<float>()[4] == 5.0f);
  int32_t raw[4] = {9, 8, 7, 6};
  Tensor fb = from_buffer(raw, {2, 2}, DType::i32);
  raw[0] = 0;  // from_buffer copied
  CHECK(fb.to_vector<int32_t>()[0] == 9);
  Tensor blob = from_blob(raw, {4}, DType::i32);
  raw[1] = 42;  // from_blob shares
  CHECK(blob.to_vector<int32_t>()[1] == 42);
  CHECK(scalar_tensor(3.5).item() == 3.5);
  CHECK(scalar_tensor(3.5).dim() == 0);
}

TEST_CASE("factory errors") {
  CHECK_THROWS_WITH_SUBSTR(zeros({2, -1}), "negative size");
  CHECK_THROWS_WITH_SUBSTR(arange(0, 1, 0), "step must be non-zero");
  CHECK_THROWS_WITH_SUBSTR(randint(5, 5, {2}), "greater than low");
  CHECK_THROWS_WITH_SUBSTR(from_vector<float>({1, 2, 3}, {2, 2}), "do not fill shape");
  CHECK_THROWS_WITH_SUBSTR(zeros({2}, DType::i64).requires_grad_(), "only floating");
  CHECK_THROWS_WITH_SUBSTR(zeros({1, 1, 1, 1, 1, 1, 1, 1, 1}), "at most 8 dims");
  CHECK_THROWS_WITH_SUBSTR(Tensor().shape(), "undefined tensor");
  CHECK_THROWS_WITH_SUBSTR(zeros({3}).item(), "one element");
  CHECK_THROWS_WITH_SUBSTR(zeros({3}).data<double>(), "read as f64");
  CHECK_THROWS_WITH_SUBSTR(zeros({2}, Device::cuda()), "no CUDA backend");
  CHECK_THROWS_WITH_SUBSTR(Device::parse("gpu"), "use cpu, cuda or cuda:N");
  CHECK_THROWS_WITH_SUBSTR(Device::parse("cuda:x"), "must be a number");
  CHECK(Device::parse("cuda:1").index == 1);
}

TEST_CASE("dtype conversion and promotion") {
  Tensor f = from_vector<float>({-1.5f, 0.0f, 2.7f, 300.0f});
  CHECK(f.to(DType::i64).to_vector<int64_t>() == std::vector<int64_t>{-1, 0, 2, 300});
  CHECK(f.to(DType::b8).to(DType::i32).to_vector<int32_t>() == std::vector<int32_t>{1, 0, 1, 1});
  CHECK(f.to(DType::u8).to_vector<uint8_t>()[2] == 2);
  Tensor bf = f.to(DType::bf16);
  CHECK(bf.dtype() == DType::bf16);
  CHECK(bf.to(DType::f32).to_vector<float>() == std::vector<float>{-1.5f, 0.0f, 2.703125f, 300.0f});
  CHECK(f.to(DType::f16).to(DType::f32).to_vector<float>() == std::vector<float>{-1.5f, 0.0f, 2.69921875f, 300.0f});
  CHECK(f16_to_float(float_to_f16(65504.0f)) == 65504.0f);
  CHECK(std::isinf(f16_to_float(float_to_f16(1e6f))));
  CHECK(f16_to_float(float_to_f16(5.960464477539063e-08f)) == 5.960464477539063e-08f);  // smallest subnormal
  CHECK(promote_types(DType::i32, DType::f32) == DType::f32);
  CHECK(promote_types(DType::b8, DType::u8) == DType::u8);
  CHECK(promote_types(DType::f32, DType::f64) == DType::f64);
  CHECK((from_vector<int64_t>({1, 2}) + 0.5).dtype() == DType::f32);
  CHECK((ones({2}) + scalar_tensor(1, DType::f64)).dtype() == DType::f32);  // 0-d takes the other side
  CHECK((ones({2}) + ones({2}, DType::f64)).dtype() == DType::f64);
}

TEST_CASE("views share storage and index correctly") {
  Tensor x = arange(24, DType::f32).reshape({2, 3, 4});
  CHECK(x.is_contiguous());
  Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.shares_storage(x));
  CHECK_FALSE(p.is_contiguous());
  // p[k][i][j] == x[i][j][k]
  std::vector<float> pv = p.to_vector<float>();
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) CHECK(pv[(k * 2 + i) * 3 + j] == float(i * 12 + j * 4 + k));

  Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.to_vector<float>()[1] == 12.0f);

  Tensor s = x.slice(2, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.to_vector<float>() == std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(x.slice(1, -2, 100).shape() == Shape{2, 2, 4});  // Python-style clamping
  CHECK(x.slice(1, 2, 1).shape() == Shape{2, 0, 4});

  Tensor sel = x.select(1, -1);
  CHECK(sel.shape() == Shape{2, 4});
  CHECK(sel.to_vector<float>() == std::vector<float>{8, 9, 10, 11, 20, 21, 22, 23});
  CHECK(x[1][2].to_vector<float>() == std::vector<float>{20, 21, 22, 23});
  CHECK(x.narrow(2, 1, 2).to_vector<float>()[0] == 1.0f);

  Tensor e = from_vector<float>({1, 2, 3}).reshape({3, 1}).expand({2, 3, 4});
  CHECK(e.shape() == Shape{2, 3, 4});
  CHECK(e.strides()[0] == 0);
  CHECK(e.to_vector<float>()[5] == 2.0f);
  CHECK(ones({1, 3}).expand({-1, 3}).shape() == Shape{1, 3});

  CHECK(zeros({1, 3, 1}).squeeze().shape() == Shape{3});
  CHECK(zeros({1, 3, 1}).squeeze(0).shape() == Shape{3, 1});
  CHECK(zeros({1, 3, 1}).squeeze(1).shape() == Shape{1, 3, 1});
  CHECK(zeros({3}).unsqueeze(0).shape() == Shape{1, 3});
  CHECK(zeros({3}).unsqueeze(-1).shape() == Shape{3, 1});
  CHECK(zeros({2, 3, 4, 5}).flatten(1, 2).shape() == Shape{2, 12, 5});
  CHECK(zeros({2, 3, 4}).flatten().shape() == Shape{24});
  CHECK(zeros({2, 3, 4}).reshape({-1, 4}).shape() == Shape{6, 4});
  CHECK(zeros({2, 3, 4}).view({4, -1}).shape() == Shape{4, 6});

  // reshape of a permuted tensor copies; view refuses.
  Tensor r = p.reshape({24});
  CHECK_FALSE(r.shares_storage(x));
  CHECK(r.to_vector<float>()[1] == 4.0f);
  CHECK_THROWS_WITH_SUBSTR(p.view({24}), "without copying");
  // reshape that can be a view shares storage even for a strided input
  Tensor st = x.slice(0, 0, 2).transpose(1, 2);  // [2, 4, 3]
  CHECK(st.reshape({2, 4, 3, 1}).shares_storage(x));

  Tensor c = p.contiguous();
  CHECK(c.is_contiguous());
  CHECK(c.to_vector<float>() == p.to_vector<float>());
  CHECK(x.contiguous().shares_storage(x));
  CHECK_FALSE(x.clone().shares_storage(x));

  // writing through a view changes the base
  Tensor base = zeros({2, 3});
  base.select(0, 1).fill_(5);
  CHECK(base.to_vector<float>() == std::vector<float>{0, 0, 0, 5, 5, 5});
  base.slice(1, 0, 3, 2).copy_(from_vector<float>({1, 2}).reshape({1, 2}));
  CHECK(base.to_vector<float>() == std::vector<float>{1, 0, 2, 1, 5, 2});
}

TEST_CASE("contiguous() of transposed layouts matches element-wise indexing") {
  // [B, R, C] values v = b*R*C + r*C + c (exact in every dtype below); the copy of a transposed
  // view [B, C, R] must hold v(b, r, c) at (b, c, r).
  for (DType dt : {DType::f32, DType::f64, DType::i64, DType::u8, DType::bf16}) {
    for (auto [B, R, C] : std::vector<std::array<int64_t, 3>>{{1, 32, 32}, {3, 50, 70}, {2, 33, 95}, {1, 31, 200}}) {
      CAPTURE(dtype_name(dt));
      CAPTURE(R);
      CAPTURE(C);
      const int64_t mod = dt == DType::u8 ? 251 : (dt == DType::bf16 ? 256 : B * R * C);  // exact range
      std::vector<double> vals(static_cast<size_t>(B * R * C));
      for (size_t i = 0; i < vals.size(); ++i) vals[i] = static_cast<double>(static_cast<int64_t>(i) % mod);
      Tensor x = from_vector<double>(vals).to(dt).reshape({B, R, C});
      Tensor t = x.transpose(1, 2).contiguous();
      REQUIRE(t.shape() == Shape{B, C, R});
      std::vector<double> xv = x.to(DType::f64).to_vector<double>(), tv = t.to(DType::f64).to_vector<double>();
      bool same = true;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t r = 0; r < R; ++r)
          for (int64_t c = 0; c < C; ++c) same = same && tv[(b * C + c) * R + r] == xv[(b * R + r) * C + c];
      CHECK(same);
    }
  }
  // merged dims: [2, 40, 3, 33] -> [2, 33, 40, 3] is [2, 33, 120] against [2, 120, 33] after merging
  Tensor y = arange(2.0 * 40 * 3 * 33, DType::f32).reshape({2, 40, 3, 33});
  Tensor yp = y.permute({0, 3, 1, 2}).contiguous();
  std::vector<float> yv = y.to_vector<float>(), pv = yp.to_vector<float>();
  bool same = true;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t i = 0; i < 40; ++i)
      for (int64_t j = 0; j < 3; ++j)
        for (int64_t k = 0; k < 33; ++k)
          same = same && pv[((b * 33 + k) * 40 + i) * 3 + j] == yv[((b * 40 + i) * 3 + j) * 33 + k];
  CHECK(same);
  // a column slice of a wider buffer (DaViT's q out of a packed qkv), transposed, with an offset
  Tensor qkv = arange(2.0 * 50 * 192, DType::f32).reshape({2, 50, 192});
  Tensor q = qkv.slice(2, 64, 128).transpose(1, 2).contiguous();  // [2, 64, 50]
  std::vector<float> all = qkv.to_vector<float>(), qv = q.to_vector<float>();
  same = true;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t c = 0; c < 64; ++c)
      for (int64_t n = 0; n < 50; ++n) same = same && qv[(b * 64 + c) * 50 + n] == all[(b * 50 + n) * 192 + 64 + c];
  CHECK(same);
}

TEST_CASE("view errors") {
  Tensor x = zeros({2, 3});
  CHECK_THROWS_WITH_SUBSTR(x.reshape({4, 2}), "cannot reshape");
  CHECK_THROWS_WITH_SUBSTR(x.reshape({-1, -1}), "only one dim can be -1");
  CHECK_THROWS_WITH_SUBSTR(x.permute({0}), "permute");
  CHECK_THROWS_WITH_SUBSTR(x.permute({0, 0}), "repeated");
  CHECK_THROWS_WITH_SUBSTR(x.select(0, 2), "out of range");
  CHECK_THROWS_WITH_SUBSTR(x.select(2, 0), "out of range");
  CHECK_THROWS_WITH_SUBSTR(x.slice(0, 0, 1, 0), "step must be positive");
  CHECK_THROWS_WITH_SUBSTR(x.expand({2, 4}), "cannot expand");
  CHECK_THROWS_WITH_SUBSTR(x.expand({3}), "fewer dims");
  CHECK_THROWS_WITH_SUBSTR(x.narrow(1, 2, 2), "outside");
  CHECK_THROWS_WITH_SUBSTR(x.flatten(1, 0), "comes after");
  CHECK_THROWS_WITH_SUBSTR(zeros({2, 2, 2}).t(), "at most 2 dims");
  CHECK_THROWS_WITH_SUBSTR(x.copy_(zeros({3, 2})), "do not broadcast");
  CHECK_THROWS_WITH_SUBSTR(x.copy_(zeros({2, 2, 3})), "does not broadcast to the destination");
}

TEST_CASE("printing looks like PyTorch") {
  CHECK(from_vector<float>({1.5f, -2.25f}).str() == "tensor([ 1.5000, -2.2500], shape=[2], dtype=f32)");
  CHECK(arange(4).reshape({2, 2}).str() == "tensor([[0, 1],\n        [2, 3]], shape=[2, 2], dtype=i64)");
  CHECK(ones({2}).str() == "tensor([1., 1.], shape=[2], dtype=f32)");
  CHECK(scalar_tensor(2.5).str() == "tensor(2.5000, shape=[], dtype=f32)");
  std::string big = arange(2000).str();
  CHECK(big.find("2, ..., 1997,") != std::string::npos);
  CHECK(big.size() < 200);
  CHECK(from_vector<float>({1e-6f, 1.0f}).str().find("e-06") != std::string::npos);
  std::string g = ones({2}).requires_grad_().str();
  CHECK(g.find("requires_grad=true") != std::string::npos);
}

TEST_CASE("Philox 4x32-10 matches the Random123 known answers") {
  auto a = philox4x32_10({0, 0, 0, 0}, {0, 0});
  CHECK(a == std::array<uint32_t, 4>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  auto b = philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu});
  CHECK(b == std::array<uint32_t, 4>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  auto c = philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u});
  CHECK(c == std::array<uint32_t, 4>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("random draws are reproducible and have the right moments") {
  Generator g1(42), g2(42);
  Tensor a = randn({1000}, {}, &g1), b = randn({1000}, {}, &g2);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  Tensor c = randn({1000}, {}, &g1);  // the generator advanced
  CHECK(c.to_vector<float>() != a.to_vector<float>());
  CHECK(g1.offset() == 500);  // 2 x 250 blocks of 4

  // Offsets address the stream: drawing 8 then 8 equals drawing 16 at once.
  Generator g3(5), g4(5);
  Tensor first = rand({8}, {}, &g3), second = rand({8}, {}, &g3), both = rand({16}, {}, &g4);
  std::vector<float> joined = first.to_vector<float>();
  for (float v : second.to_vector<float>()) joined.push_back(v);
  CHECK(joined == both.to_vector<float>());

  Generator g(1);
  Tensor n = randn({200000}, DType::f64, &g);
  CHECK(std::fabs(mean(n).item()) < 0.01);
  CHECK(std::fabs(stddev(n).item() - 1.0) < 0.01);
  Tensor u = rand({200000}, {}, &g);
  CHECK(std::fabs(mean(u).item() - 0.5) < 0.005);
  CHECK(min(u).item() >= 0.0);
  CHECK(max(u).item() < 1.0);
  Tensor r = randint(-3, 4, {100000}, DType::i64, &g);
  CHECK(min(r).item() == -3);
  CHECK(max(r).item() == 3);
  Tensor r32 = randint(0, 10, {1000}, DType::i32, &g);
  CHECK(max(r32).item() == 9);

  std::vector<int64_t> perm = randperm(50, &g).to_vector<int64_t>();
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(sorted[i] == i);
  CHECK(perm != sorted);

  // The global generator is seeded by manual_seed.
  manual_seed(3);
  Tensor x = rand({4});
  manual_seed(3);
  CHECK(rand({4}).to_vector<float>() == x.to_vector<float>());
}

TEST_CASE("the same draw regardless of thread count") {
  int saved = num_threads();
  set_num_threads(1);
  Generator g1(9);
  Tensor a = randn({100001}, {}, &g1);
  set_num_threads(2);
  Generator g2(9);
  Tensor b = randn({100001}, {}, &g2);
  set_num_threads(saved);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
}

TEST_CASE("the caching allocator reuses blocks") {
  AllocatorStats before = cpu_allocator_stats();
  for (int i = 0; i < 10; ++i) {
    Tensor t = empty({1234, 17});
    (void)t;
  }
  AllocatorStats after = cpu_allocator_stats();
  CHECK(after.allocations - before.allocations == 10);
  if (after.caching)
    CHECK(after.system_allocs - before.system_allocs <= 1);
  // Data pointers are 64-byte aligned.
  CHECK(reinterpret_cast<uintptr_t>(empty({3}).raw_data()) % 64 == 0);
}

TEST_CASE("non-contiguous helper keeps values") {
  Tensor x = arange(12, DType::f64).reshape({3, 4});
  Tensor nc = noncontiguous(x);
  CHECK_FALSE(nc.is_contiguous());
  CHECK(nc.to_vector<double>() == x.to_vector<double>());
}

// A CUDA build checks the query in test_cuda_elementwise.cpp ("cuda runtime: device queries").
TEST_CASE("device query: a CPU-only build answers none and says how to get CUDA" * doctest::skip(cuda_built())) {
  CHECK(cuda_device_count() == 0);
  CHECK_THROWS_WITH_SUBSTR(cuda_device_name(0), "make CUDA=1");
  CHECK_THROWS_WITH_SUBSTR(set_cuda_device(1), "cuda:1: this build of iris has no CUDA backend");
}
