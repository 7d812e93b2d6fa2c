// metrics/image_similarity against scikit-image (tests/golden/image_similarity.json, written by
// tests/golden/make_image_similarity.py): SSIM with the 7x7 uniform, 5x5 uniform and 11x11 Gaussian
// windows on grey and RGB, u8 and float images, to 1e-9 of skimage on float64 copies and 1e-5 of
// skimage on the float32 arrays; the full SSIM map, border included (the cropped mean never sees the
// padding); masked SSIM against skimage's full map averaged over the mask; PSNR with given and
// default data ranges; plus hand-worked values and the error messages.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "io/file_util.h"
#include "io/json.h"
#include "metrics/image_similarity.h"
#include "tests/helpers.h"

using namespace iris;
using namespace iris::metrics;

namespace {

Tensor image(const json::Value& values, const Shape& shape, const std::string& dtype) {
  std::vector<double> v;
  for (const auto& e : values.elements()) v.push_back(e.as_number());
  return from_vector(v, shape, dtype == "u8" ? DType::u8 : DType::f32);
}

SsimOptions options_for(const std::string& window, const json::Value& range) {
  SsimOptions o = window == "gaussian11" ? SsimOptions::gaussian11() : SsimOptions::uniform7();
  if (window == "uniform5") o.win_size = 5;
  if (!range.is_null()) o.data_range = range.as_number();
  return o;
}

}  // namespace

TEST_CASE("image similarity: equals scikit-image on the golden cases") {
  const json::Value g = json::parse(read_file("tests/golden/image_similarity.json"));
  int masked = 0, maps = 0;
  for (const auto& c : g["cases"].elements()) {
    const std::string name = c["name"].as_string();
    CAPTURE(name);
    Shape shape;
    for (const auto& d : c["shape"].elements()) shape.push_back(d.as_int());
    const std::string dtype = c["dtype"].as_string();
    Tensor a = image(c["a"], shape, dtype), b = image(c["b"], shape, dtype);
    const SsimOptions o = options_for(c["window"].as_string(), c["data_range"]);
    const double got = ssim(a, b, o);
    CHECK(std::fabs(got - c["ssim"].as_number()) < 1e-9);
    if (const json::Value* f32 = c.find("ssim_f32")) CHECK(std::fabs(got - f32->as_number()) < 1e-5);
    // The same from f64 images, and the map's cropped mean.
    SsimOptions o64 = o;
    if (o64.data_range == 0) o64.data_range = 255;  // skimage's range for the u8 arrays
    CHECK(std::fabs(ssim(a.to(DType::f64), b.to(DType::f64), o64) - c["ssim"].as_number()) < 1e-9);
    if (const json::Value* full = c.find("map")) {
      ++maps;
      std::vector<double> got_map = ssim_map(a, b, o).to_vector<double>();
      REQUIRE(got_map.size() == full->size());
      double worst = 0;
      for (size_t i = 0; i < got_map.size(); ++i)
        worst = std::max(worst, std::fabs(got_map[i] - (*full)[i].as_number()));
      CHECK(worst < 1e-9);
    }
    if (const json::Value* m = c.find("mask")) {
      Tensor mask = image(*m, Shape{shape[0], shape[1]}, "u8");
      if (c["ssim_masked"].is_null()) {
        CHECK_THROWS_WITH(ssim_masked(a, b, mask, o), doctest::Contains("no pixel of the mask"));
      } else {
        ++masked;
        CHECK(std::fabs(ssim_masked(a, b, mask, o) - c["ssim_masked"].as_number()) < 1e-9);
      }
    }
    const double range = c["psnr_data_range"].is_null() ? 0.0 : c["psnr_data_range"].as_number();
    const double p = psnr(a, b, range);
    if (c["psnr"].is_null()) CHECK(std::isinf(p));
    else CHECK(std::fabs(p - c["psnr"].as_number()) < 1e-9);
  }
  CHECK(masked >= 9);
  CHECK(maps == 3);
}

TEST_CASE("image similarity: hand-worked values") {
  // PSNR: one of four pixels off by 0.1 (range 1): MSE 0.0025, PSNR = 10 log10(400) = 26.0206 dB.
  Tensor a = from_vector(std::vector<double>{0.1, 0.2, 0.3, 0.4}, Shape{2, 2});
  Tensor b = from_vector(std::vector<double>{0.1, 0.2, 0.3, 0.5}, Shape{2, 2});
  CHECK(psnr(a, b, 1.0) == doctest::Approx(10 * std::log10(400.0)).epsilon(1e-12));
  // u8 range 255: off by 5 everywhere, PSNR = 20 log10(255 / 5).
  Tensor u = full({12, 12, 3}, 100, DType::u8), v = full({12, 12, 3}, 105, DType::u8);
  CHECK(psnr(u, v) == doctest::Approx(20 * std::log10(51.0)).epsilon(1e-12));
  // SSIM of constant images: no variance, so S = (2 mx my + C1) / (mx^2 + my^2 + C1) everywhere.
  const double c1 = (0.01 * 255) * (0.01 * 255), want = (2 * 100.0 * 105 + c1) / (100.0 * 100 + 105.0 * 105 + c1);
  CHECK(ssim(u, v, SsimOptions::gaussian11()) == doctest::Approx(want).epsilon(1e-12));
  CHECK(ssim(u, u, SsimOptions::uniform7()) == doctest::Approx(1.0).epsilon(1e-14));
  Tensor map = ssim_map(u, v, SsimOptions::uniform7());
  CHECK(map.shape() == Shape{12, 12, 3});
  CHECK(map.to_vector<double>()[0] == doctest::Approx(want).epsilon(1e-12));
  CHECK(SsimOptions::gaussian11().window_side() == 11);
}

TEST_CASE("image similarity: bad input gives clear errors") {
  Tensor f = zeros({12, 12}), u = zeros({12, 12}, DType::u8);
  CHECK_THROWS_WITH(ssim(f, f, SsimOptions::uniform7()), doctest::Contains("need SsimOptions::data_range"));
  CHECK_THROWS_WITH(ssim(f, zeros({12, 11}), SsimOptions::uniform7(1)), doctest::Contains("differ in shape"));
  CHECK_THROWS_WITH(ssim(zeros({10, 10}), zeros({10, 10}), SsimOptions::gaussian11(1)),
                    doctest::Contains("11x11 window exceeds the 10x10 image"));
  SsimOptions even = SsimOptions::uniform7(1);
  even.win_size = 4;
  CHECK_THROWS_WITH(ssim(f, f, even), doctest::Contains("must be odd"));
  CHECK_THROWS_WITH(ssim(zeros({2, 12, 12, 1}), zeros({2, 12, 12, 1}), SsimOptions::uniform7(1)),
                    doctest::Contains("[H, W] or [H, W, C]"));
  CHECK_THROWS_WITH(ssim_masked(u, u, zeros({12, 10}), SsimOptions::uniform7()),
                    doctest::Contains("the mask must be [H, W] = [12, 12]"));
  CHECK_THROWS_WITH(psnr(full({4, 4}, 3.0), f.narrow(0, 0, 4).narrow(1, 0, 4)), doctest::Contains("needs data_range"));
  CHECK_THROWS_WITH(psnr(zeros({3, 3}, DType::i32), zeros({3, 3}, DType::i32), 1), doctest::Contains("u8, f32 or f64"));
}
