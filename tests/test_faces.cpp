// The FACES world: determinism (factors, pixels, captions, any thread count), masks consistent with
// the colours that were drawn (at the supersampled level and after downsampling), landmarks inside
// their parts, the hair re-render guarantee, captions claiming exactly what they say, disjoint
// identity splits, the compositional hair hold-out, the factor vector, JSON and the error paths.
#include "data/synth/faces.h"

#include <omp.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "tests/helpers.h"

using namespace iris;
using namespace iris::synth;

namespace {

bool same_image(const Image& a, const Image& b) {
  return a.height() == b.height() && a.width() == b.width() && a.channels() == b.channels() &&
         std::equal(a.data(), a.data() + a.size_bytes(), b.data());
}

bool same_render(const FaceRender& a, const FaceRender& b) {
  if (!same_image(a.image, b.image) || !same_image(a.labels, b.labels)) return false;
  for (int k = 0; k < kNumFaceLandmarks; ++k)
    if (a.landmarks[k].x != b.landmarks[k].x || a.landmarks[k].y != b.landmarks[k].y ||
        a.landmarks[k].visible != b.landmarks[k].visible)
      return false;
  return true;
}

FaceConfig config_with(uint64_t seed, FaceSplit split = FaceSplit::train) {
  FaceConfig c;
  c.seed = seed;
  c.split = split;
  return c;
}

// How far `color` is from being `f * base` for the best f (per channel, in grey levels), and that f.
double ratio_error(Color color, Color base, double& f) {
  double c[3] = {double(color.r), double(color.g), double(color.b)};
  double b[3] = {double(base.r), double(base.g), double(base.b)};
  f = (c[0] * b[0] + c[1] * b[1] + c[2] * b[2]) / (b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
  double worst = 0;
  for (int k = 0; k < 3; ++k) worst = std::max(worst, std::fabs(c[k] - f * b[k]));
  return worst;
}

// Whole-word (or whole-phrase) search: the characters around the match are not letters.
bool contains_word(const std::string& text, const std::string& word) {
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    bool left = at == 0 || !std::isalpha(static_cast<unsigned char>(text[at - 1]));
    size_t end = at + word.size();
    bool right = end == text.size() || !std::isalpha(static_cast<unsigned char>(text[end]));
    if (left && right) return true;
  }
  return false;
}

std::vector<FaceFactors> some_factors(int count, uint64_t seed) {
  FaceConfig config = config_with(seed);
  config.glasses_probability = 0.5;
  config.hat_probability = 0.2;
  std::vector<FaceFactors> out;
  for (int i = 0; i < count; ++i) out.push_back(sample_factors(config, i));
  // Make sure every style, glasses kind and the hat appear.
  for (int s = 0; s < hair_style::count; ++s) out[static_cast<size_t>(s)].hair.style = s;
  out[0].identity.glasses = glasses_kind::round;
  out[1].identity.glasses = glasses_kind::rectangular;
  out[2].identity.glasses = glasses_kind::none;
  out[3].scene.hat = true;
  out[4].scene.hat = false;
  return out;
}

}  // namespace

TEST_CASE("faces: sampling and rendering are deterministic") {
  FaceConfig config = config_with(7);
  for (int64_t i : {0, 1, 17}) {
    FaceFactors a = sample_factors(config, i), b = sample_factors(config, i);
    CHECK(face_factors_to_json(a) == face_factors_to_json(b));
    CHECK(same_render(render_face(a), render_face(b)));
  }
  CHECK(face_factors_to_json(sample_factors(config, 0)) != face_factors_to_json(sample_factors(config, 1)));
  CHECK(face_factors_to_json(sample_factors(config, 0)) != face_factors_to_json(sample_factors(config_with(8), 0)));
  CHECK(!same_image(render_face(sample_factors(config, 0)).image, render_face(sample_factors(config, 1)).image));

  // make_faces in parallel gives the same samples as make_face one by one, for any thread count.
  int threads = omp_get_max_threads();
  omp_set_num_threads(3);
  std::vector<FaceSample> parallel = make_faces(config, 5, 6);
  omp_set_num_threads(1);
  std::vector<FaceSample> serial = make_faces(config, 5, 6);
  omp_set_num_threads(threads);
  REQUIRE(parallel.size() == 6);
  for (int i = 0; i < 6; ++i) {
    FaceSample one = make_face(config, 5 + i);
    CHECK(parallel[i].index == 5 + i);
    CHECK(same_render(parallel[i].render, one.render));
    CHECK(same_render(serial[i].render, one.render));
    CHECK(parallel[i].caption.text == one.caption.text);
    CHECK(face_factors_to_json(parallel[i].factors) == face_factors_to_json(one.factors));
  }
}

TEST_CASE("faces: the output is the box-downsampled supersampled canvas") {
  FaceFactors f = sample_factors(config_with(3), 4);
  for (auto [size, ss] : {std::pair<int, int>{48, 4}, {96, 2}, {32, 3}}) {
    FaceRender hi = render_face_supersampled(f, size, ss), lo = render_face(f, size, ss);
    REQUIRE(hi.image.height() == size * ss);
    REQUIRE(lo.image.height() == size);
    REQUIRE(lo.image.channels() == 3);
    REQUIRE(lo.labels.channels() == 1);
    for (int oy = 0; oy < size; oy += 5)
      for (int ox = 0; ox < size; ox += 3) {
        int sum[3] = {0, 0, 0}, counts[face_label::count] = {0};
        for (int y = oy * ss; y < (oy + 1) * ss; ++y)
          for (int x = ox * ss; x < (ox + 1) * ss; ++x) {
            for (int c = 0; c < 3; ++c) sum[c] += hi.image.at(y, x, c);
            ++counts[hi.labels.at(y, x)];
          }
        for (int c = 0; c < 3; ++c) CHECK(lo.image.at(oy, ox, c) == (sum[c] + ss * ss / 2) / (ss * ss));
        int label = lo.labels.at(oy, ox);
        for (int l = 0; l < face_label::count; ++l) CHECK((counts[l] < counts[label] || (counts[l] == counts[label] && l <= label)));
      }
    for (int k = 0; k < kNumFaceLandmarks; ++k) {
      CHECK(lo.landmarks[k].x == doctest::Approx((hi.landmarks[k].x + 0.5) / ss - 0.5).epsilon(1e-5));
      CHECK(lo.landmarks[k].y == doctest::Approx((hi.landmarks[k].y + 0.5) / ss - 0.5).epsilon(1e-5));
    }
  }
}

TEST_CASE("faces: mask labels agree with the colours drawn") {
  std::vector<FaceFactors> faces = some_factors(24, 11);
  for (size_t n = 0; n < faces.size(); ++n) {
    const FaceFactors& f = faces[n];
    CAPTURE(n);
    FaceRender hi = render_face_supersampled(f, 48, 4);
    const Color skin = skin_tone_rgb(f.identity.skin_tone), hair = hair_color_rgb(f.hair.color);
    int counts[face_label::count + 1] = {0};
    std::set<std::tuple<int, int, int>> brow_colors, glasses_colors;
    int bad_nose = 0, impure_skin = 0;
    double worst_skin = 0, worst_hair = 0, skin_f_lo = 9, skin_f_hi = 0, hair_f_lo = 9, hair_f_hi = 0;
    for (int y = 0; y < hi.image.height(); ++y)
      for (int x = 0; x < hi.image.width(); ++x) {
        int label = std::min<int>(hi.labels.at(y, x), face_label::count);  // count: out of range
        ++counts[label];
        Color c = hi.image.pixel(y, x);
        double f;
        if (label == face_label::skin) {
          worst_skin = std::max(worst_skin, ratio_error(c, skin, f));
          skin_f_lo = std::min(skin_f_lo, f), skin_f_hi = std::max(skin_f_hi, f);
        } else if (label == face_label::hair) {
          worst_hair = std::max(worst_hair, ratio_error(c, hair, f));
          hair_f_lo = std::min(hair_f_lo, f), hair_f_hi = std::max(hair_f_hi, f);
        } else if (label == face_label::nose) {
          // The nose is shaded skin, darker than the face.
          bad_nose += ratio_error(c, skin, f) > 1.5 || f > 0.95;
        } else if (label == face_label::left_brow || label == face_label::right_brow) {
          brow_colors.insert({c.r, c.g, c.b});
        } else if (label == face_label::glasses) {
          glasses_colors.insert({c.r, c.g, c.b});
        }
      }
    // Skin is the skin tone shaded by one factor (outline 0.72 .. lit 1); hair the hair colour
    // times its texture (tie 0.5 .. 1). Rounding to bytes costs at most half a grey level.
    CHECK(worst_skin <= 1.5);
    CHECK(skin_f_lo >= 0.7);
    CHECK(skin_f_hi <= 1.01);
    CHECK(worst_hair <= 1.5);
    CHECK(hair_f_lo >= 0.49);
    CHECK(hair_f_hi <= 1.01);
    CHECK(brow_colors.size() == 1);
    CHECK(bad_nose == 0);
    CHECK(counts[face_label::count] == 0);
    // Every part is there; glasses exactly when worn, in one frame colour.
    for (int l : {face_label::skin, face_label::hair, face_label::left_brow, face_label::right_brow,
                  face_label::left_eye, face_label::right_eye, face_label::nose, face_label::mouth})
      CHECK(counts[l] > 0);
    CHECK((counts[face_label::glasses] > 0) == (f.identity.glasses != glasses_kind::none));
    CHECK(glasses_colors.size() == (f.identity.glasses != glasses_kind::none ? 1u : 0u));
    // The eyes hold white, a dark pupil and the lid line; the left eye is on the image's left.
    double left_x = 0, right_x = 0;
    int left_n = 0, right_n = 0, white = 0;
    for (int y = 0; y < hi.image.height(); ++y)
      for (int x = 0; x < hi.image.width(); ++x) {
        int label = hi.labels.at(y, x);
        if (label == face_label::left_eye) left_x += x, ++left_n;
        if (label == face_label::right_eye) right_x += x, ++right_n;
        if ((label == face_label::left_eye || label == face_label::right_eye) && hi.image.pixel(y, x).r >= 240) ++white;
      }
    CHECK(left_x / left_n < right_x / right_n);
    CHECK(white > 0);

    // After downsampling, pure skin pixels (every subpixel skin) are still shaded skin, and every
    // part keeps at least one pixel at 48 x 48.
    FaceRender lo = downsample_face(hi, 4);
    int lo_counts[face_label::count] = {0};
    for (int y = 0; y < 48; ++y)
      for (int x = 0; x < 48; ++x) {
        ++lo_counts[lo.labels.at(y, x)];
        bool pure = true;
        for (int sy = 0; sy < 4; ++sy)
          for (int sx = 0; sx < 4; ++sx) pure = pure && hi.labels.at(4 * y + sy, 4 * x + sx) == face_label::skin;
        double f;
        if (pure) impure_skin += ratio_error(lo.image.pixel(y, x), skin, f) > 2.0;
      }
    CHECK(impure_skin == 0);
    for (int l : {face_label::skin, face_label::hair, face_label::left_eye, face_label::right_eye, face_label::nose,
                  face_label::mouth})
      CHECK(lo_counts[l] > 0);
    CHECK((lo_counts[face_label::glasses] > 0) == (f.identity.glasses != glasses_kind::none));
  }
}

TEST_CASE("faces: landmarks lie inside their parts") {
  std::vector<FaceFactors> faces = some_factors(20, 5);
  int visible = 0, total = 0;
  for (size_t n = 0; n < faces.size(); ++n) {
    CAPTURE(n);
    for (auto [size, ss] : {std::pair<int, int>{48, 4}, {96, 2}}) {
      FaceRender hi = render_face_supersampled(faces[n], size, ss);
      const auto& lm = hi.landmarks;
      for (int k = 0; k < kNumFaceLandmarks; ++k) {
        CAPTURE(k);
        ++total;
        int x = static_cast<int>(std::lround(lm[k].x)), y = static_cast<int>(std::lround(lm[k].y));
        REQUIRE(hi.labels.contains(y, x));
        int label = hi.labels.at(y, x);
        if (lm[k].visible) {
          ++visible;
          CHECK(label == face_landmark_label(k));
        } else {
          // Only glasses cover landmarks (brow ends), and only when worn.
          CHECK(faces[n].identity.glasses != glasses_kind::none);
          CHECK((k == 8 || k == 9));
        }
      }
      // Eyes, nose, mouth and chin are never covered; the geometry reads left to right and top to bottom.
      for (int k : {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13}) CHECK(lm[k].visible);
      CHECK(lm[0].x < lm[2].x);
      CHECK(lm[2].x < lm[4].x);
      CHECK(lm[4].x < lm[6].x);
      CHECK(lm[11].x < lm[12].x);
      CHECK(lm[1].y < lm[10].y);
      CHECK(lm[10].y < lm[13].y);
      CHECK(lm[8].y < lm[1].y);
    }
  }
  CHECK(visible > total * 9 / 10);
}

TEST_CASE("faces: render_with_hair changes only hair pixels") {
  std::vector<FaceFactors> faces = some_factors(8, 21);  // every style is the "before" once
  for (size_t n = 0; n < faces.size(); ++n) {
    const FaceFactors& f = faces[n];
    for (int edit = 0; edit < 2; ++edit) {
      HairFactors h = f.hair;
      h.style = (f.hair.style + 1 + 4 * edit + static_cast<int>(n)) % hair_style::count;
      h.color = (f.hair.color + 7 * edit + 1) % hair_color::count;
      h.volume = edit == 1 ? 1.0f - f.hair.volume : f.hair.volume;
      h.parting = 1 - f.hair.parting;
      h.texture_seed = f.hair.texture_seed + 1;
      CAPTURE(n);
      CAPTURE(edit);
      FaceFactors edited = f;
      edited.hair = h;
      // Subpixels: wherever neither render has hair, colour and label are identical.
      FaceRender hi_before = render_face_supersampled(f), hi_after = render_face_supersampled(edited);
      FaceRender before = downsample_face(hi_before, 4), after = render_with_hair(f, h);
      CHECK(same_render(after, downsample_face(hi_after, 4)));
      int kept = 0, changed = 0, differing_subpixels = 0, differing_pixels = 0;
      std::vector<bool> block_has_hair(48 * 48, false);
      for (int y = 0; y < 192; ++y)
        for (int x = 0; x < 192; ++x) {
          int lb = hi_before.labels.at(y, x), la = hi_after.labels.at(y, x);
          if (lb == face_label::hair || la == face_label::hair) {
            block_has_hair[(y / 4) * 48 + x / 4] = true;
            continue;
          }
          bool same = lb == la && hi_before.image.pixel(y, x) == hi_after.image.pixel(y, x);
          kept += same;
          differing_subpixels += !same;
        }
      // Output pixels: every block without hair in either render is bit-identical.
      for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 48; ++x) {
          bool same = before.labels.at(y, x) == after.labels.at(y, x) && before.image.pixel(y, x) == after.image.pixel(y, x);
          if (!block_has_hair[y * 48 + x]) differing_pixels += !same;
          changed += !same;
        }
      CHECK(differing_subpixels == 0);
      CHECK(differing_pixels == 0);
      CHECK(kept > 192 * 192 / 3);
      CHECK(changed > 0);  // the edit did something
      for (int k = 0; k < kNumFaceLandmarks; ++k) {
        CHECK(before.landmarks[k].x == after.landmarks[k].x);
        CHECK(before.landmarks[k].y == after.landmarks[k].y);
      }
    }
  }
  // Long hair covers more than bald, and a colour edit recolours the hair pixels only.
  FaceFactors f = faces[0];
  f.scene.hat = false;
  HairFactors bald = f.hair, longer = f.hair;
  bald.style = hair_style::bald;
  longer.style = hair_style::long_straight;
  auto hair_pixels = [](const FaceRender& r) {
    int count = 0;
    for (size_t i = 0; i < r.labels.size_bytes(); ++i) count += r.labels.data()[i] == face_label::hair;
    return count;
  };
  CHECK(hair_pixels(render_with_hair(f, longer)) > 2 * hair_pixels(render_with_hair(f, bald)));
  HairFactors recoloured = longer;
  recoloured.color = (longer.color + 1) % hair_color::count;
  FaceRender a = render_with_hair(f, longer), b = render_with_hair(f, recoloured);
  CHECK(same_image(a.labels, b.labels));
}

TEST_CASE("faces: captions claim exactly what they say") {
  FaceConfig config = config_with(2);
  config.glasses_probability = 0.4;
  config.hat_probability = 0.3;
  const auto& factors_list = face_caption_factors();
  int sentences = 0;
  std::set<std::string> texts;
  for (int i = 0; i < 300; ++i) {
    FaceFactors f = sample_factors(config, i);
    Generator rng(1000 + i);
    FaceCaption caption = face_caption(f, rng);
    CAPTURE(caption.text);
    texts.insert(caption.text);
    sentences += caption.text.find(" with ") != std::string::npos;
    // The value each factor really has.
    auto truth = [&](const std::string& factor) -> std::string {
      if (factor == "hair_style") return hair_style_name(f.hair.style);
      if (factor == "hair_color") return hair_color_name(f.hair.color);
      if (factor == "expression") return expression_name(f.identity.expression);
      if (factor == "glasses") return glasses_name(f.identity.glasses);
      if (factor == "hat") return f.scene.hat ? "yes" : "no";
      if (factor == "skin_tone") return skin_tone_name(f.identity.skin_tone);
      if (factor == "face_shape") return face_shape_name(f.identity.face_shape);
      if (factor == "eye_color") return eye_color_name(f.identity.eye_color);
      if (factor == "mouth_open") return f.identity.mouth_open ? "yes" : "no";
      return "?";
    };
    bool has_style = false, has_color = false;
    std::string rest = caption.text;
    for (const CaptionMention& m : caption.mentions) {
      CAPTURE(m.factor);
      CAPTURE(m.phrase);
      has_style = has_style || m.factor == "hair_style";
      has_color = has_color || m.factor == "hair_color";
      CHECK(m.value == truth(m.factor));
      CHECK(caption.text.find(m.phrase) != std::string::npos);
      // The phrase says this value and no other value of the same factor.
      for (const auto& [factor, values] : factors_list) {
        if (factor != m.factor) continue;
        for (const std::string& value : values) {
          bool says = false;
          for (const std::string& word : face_caption_keywords(factor, value)) says = says || contains_word(m.phrase, word);
          CHECK(says == (value == m.value));
        }
      }
      size_t at = rest.find(m.phrase);
      if (at != std::string::npos) rest.replace(at, m.phrase.size(), "|");
    }
    CHECK(has_style);
    CHECK(has_color);
    // Nothing outside the claimed phrases claims anything.
    for (const auto& [factor, values] : factors_list)
      for (const std::string& value : values)
        for (const std::string& word : face_caption_keywords(factor, value)) {
          CAPTURE(word);
          CHECK(!contains_word(rest, word));
        }
    // The same generator state gives the same caption.
    Generator again(1000 + i);
    CHECK(face_caption(f, again).text == caption.text);
  }
  CHECK(sentences > 100);
  CHECK(sentences < 260);
  CHECK(texts.size() > 280);

  // A hand-made face: a red ponytail is called one.
  FaceFactors f;
  f.hair.style = hair_style::ponytail;
  f.hair.color = hair_color::red;
  for (int i = 0; i < 20; ++i) {
    Generator rng(i);
    std::string text = face_caption(f, rng).text;
    CAPTURE(text);
    CHECK(contains_word(text, "ponytail"));
    CHECK((contains_word(text, "red") || contains_word(text, "ginger") || contains_word(text, "auburn")));
    for (const CaptionMention& m : face_caption(f, rng).mentions) CHECK((m.factor != "glasses" || m.value == "none"));
    CHECK(!contains_word(text, "round glasses"));
    CHECK(!contains_word(text, "hat"));
  }
  CHECK(hair_style_prompt(hair_style::long_straight) == "long straight hairstyle");
  CHECK(hair_color_prompt(hair_color::blond) == "blond hair");
}

TEST_CASE("faces: splits have disjoint identities") {
  std::set<int64_t> ids[3];
  std::vector<IdentityFactors> train_identities;
  for (int s = 0; s < 3; ++s) {
    FaceConfig config = config_with(9, static_cast<FaceSplit>(s));
    for (int64_t i = 0; i < 400; ++i) {
      FaceFactors f = sample_factors(config, i);
      ids[s].insert(f.identity_id);
      if (s == 0) train_identities.push_back(f.identity);
      if (s == 2) {
        int same = 0;
        for (const IdentityFactors& t : train_identities)
          same += t.face_half_width == f.identity.face_half_width && t.eye_spacing == f.identity.eye_spacing;
        CHECK(same == 0);
      }
    }
  }
  CHECK(ids[0].size() == 400);
  for (int a = 0; a < 3; ++a)
    for (int b = a + 1; b < 3; ++b)
      for (int64_t id : ids[a]) CHECK(ids[b].count(id) == 0);

  // Several images per identity: the same identity factors, other hair and pose.
  FaceConfig config = config_with(9);
  config.images_per_identity = 3;
  FaceFactors a = sample_factors(config, 3), b = sample_factors(config, 5), c = sample_factors(config, 6);
  CHECK(a.identity_id == b.identity_id);
  CHECK(face_factors_to_json(a)["identity"] == face_factors_to_json(b)["identity"]);
  CHECK(face_factors_to_json(a)["scene"] != face_factors_to_json(b)["scene"]);
  CHECK(c.identity_id != a.identity_id);
  CHECK(sample_identity(9, a.identity_id, config).face_half_width == a.identity.face_half_width);
}

TEST_CASE("faces: held-out hair combinations") {
  const auto& pairs = held_out_hair_combinations();
  REQUIRE(pairs.size() == hair_style::count);
  std::set<int> colours;
  for (const auto& [s, c] : pairs) colours.insert(c);
  CHECK(colours.size() == pairs.size());
  CHECK(is_held_out_hair(hair_style::bob, hair_color::pink));
  CHECK(!is_held_out_hair(hair_style::bob, hair_color::red));

  FaceConfig config = config_with(4);
  int held_in_all = 0;
  for (int64_t i = 0; i < 800; ++i) {
    FaceFactors f = sample_factors(config, i);
    held_in_all += is_held_out_hair(f.hair.style, f.hair.color);
  }
  CHECK(held_in_all > 30);  // about 10% when nothing is held out

  config.hair_combinations = HairCombinations::without_held_out;
  std::set<int> styles_seen, colours_seen;
  for (int64_t i = 0; i < 800; ++i) {
    FaceFactors f = sample_factors(config, i);
    CHECK(!is_held_out_hair(f.hair.style, f.hair.color));
    styles_seen.insert(f.hair.style);
    colours_seen.insert(f.hair.color);
  }
  CHECK(styles_seen.size() == hair_style::count);
  CHECK(colours_seen.size() == hair_color::count);

  config.split = FaceSplit::test;
  config.hair_combinations = HairCombinations::only_held_out;
  std::set<std::pair<int, int>> seen;
  for (int64_t i = 0; i < 200; ++i) {
    FaceFactors f = sample_factors(config, i);
    CHECK(is_held_out_hair(f.hair.style, f.hair.color));
    seen.insert({f.hair.style, f.hair.color});
  }
  CHECK(seen.size() == pairs.size());
}

TEST_CASE("faces: the factor vector") {
  const FactorVectorLayout& layout = factor_vector_layout();
  const auto& names = factor_vector_names();
  REQUIRE(static_cast<int>(names.size()) == layout.size);
  CHECK(layout.identity_begin == 0);
  CHECK(layout.hair_color_begin - layout.hair_style_begin == hair_style::count);
  CHECK(layout.hair_rest_begin - layout.hair_color_begin == hair_color::count);
  CHECK(names[layout.hair_style_begin] == "hair.style=bald");
  CHECK(names[layout.hair_color_begin + hair_color::red] == "hair.color=red");
  CHECK(names[layout.scene_begin] == "scene.rotation_deg");
  FaceConfig config = config_with(6);
  for (int64_t i = 0; i < 30; ++i) {
    FaceFactors f = sample_factors(config, i);
    std::vector<float> v = factor_vector(f);
    REQUIRE(static_cast<int>(v.size()) == layout.size);
    for (float x : v) CHECK((x >= 0.0f && x <= 1.0f));
    CHECK(v[layout.hair_style_begin + f.hair.style] == 1.0f);
    CHECK(v[layout.hair_color_begin + f.hair.color] == 1.0f);
    float style_sum = 0;
    for (int k = 0; k < hair_style::count; ++k) style_sum += v[layout.hair_style_begin + k];
    CHECK(style_sum == 1.0f);
    // A hair edit moves only the hair entries.
    FaceFactors g = f;
    g.hair.style = (f.hair.style + 1) % hair_style::count;
    g.hair.volume = 1.0f - f.hair.volume;
    std::vector<float> w = factor_vector(g);
    for (int k = 0; k < layout.size; ++k)
      if (k < layout.hair_style_begin || k >= layout.scene_begin) CHECK(v[k] == w[k]);
  }
}

TEST_CASE("faces: JSON and names") {
  FaceFactors f = sample_factors(config_with(1), 2);
  json::Value j = face_factors_to_json(f);
  CHECK(j["hair"]["style"].as_string() == hair_style_name(f.hair.style));
  CHECK(j["identity"]["skin_tone"].as_string() == skin_tone_name(f.identity.skin_tone));
  CHECK(j["identity_id"].as_int() == f.identity_id);
  CHECK(json::parse(j.dump()) == j);
  CHECK(face_label_names().size() == face_label::count);
  CHECK(face_landmark_names().size() == kNumFaceLandmarks);
  CHECK(face_landmark_names()[13] == "chin");
  CHECK(hair_style_name(hair_style::long_straight) == std::string("long straight"));
  CHECK(face_split_from_name("val") == FaceSplit::val);
  CHECK(face_split_name(FaceSplit::test) == std::string("test"));
}

TEST_CASE("faces: errors") {
  FaceFactors f;
  CHECK_NOTHROW(render_face(f, 16, 1));
  FaceFactors bad = f;
  bad.hair.style = hair_style::count;
  CHECK_THROWS_WITH_SUBSTR(render_face(bad), "hair.style");
  bad = f;
  bad.hair.volume = std::nanf("");
  CHECK_THROWS_WITH_SUBSTR(render_face(bad), "hair.volume");
  bad = f;
  bad.identity.face_half_width = 30.0f;
  CHECK_THROWS_WITH_SUBSTR(render_face(bad), "identity.face_half_width");
  bad = f;
  bad.scene.rotation_deg = 90.0f;
  CHECK_THROWS_WITH_SUBSTR(render_with_hair(f, bad.hair, 48, 0), "supersample");
  CHECK_THROWS_WITH_SUBSTR(render_face(bad), "scene.rotation_deg");
  bad = f;
  bad.identity.glasses = -1;
  CHECK_THROWS_WITH_SUBSTR(factor_vector(bad), "identity.glasses");
  Generator rng(0);
  CHECK_THROWS_WITH_SUBSTR(face_caption(bad, rng), "identity.glasses");
  CHECK_THROWS_WITH_SUBSTR(render_face(f, 8), "size must be in [16, 512]");
  CHECK_THROWS_WITH_SUBSTR(render_face(f, 48, 9), "supersample must be in [1, 8]");
  CHECK_THROWS_WITH_SUBSTR(downsample_face(render_face_supersampled(f, 50, 3), 4), "not a multiple");
  CHECK_THROWS_WITH_SUBSTR(downsample_face(FaceRender{}, 2), "RGB image");
  CHECK_THROWS_WITH_SUBSTR(face_split_from_name("tain"), "unknown split");
  FaceConfig config;
  CHECK_THROWS_WITH_SUBSTR(sample_factors(config, -1), "index must be >= 0");
  config.images_per_identity = 0;
  CHECK_THROWS_WITH_SUBSTR(sample_factors(config, 0), "images_per_identity");
  config = FaceConfig{};
  config.glasses_probability = 2;
  CHECK_THROWS_WITH_SUBSTR(make_faces(config, 0, 2), "glasses_probability");
  config = FaceConfig{};
  CHECK_THROWS_WITH_SUBSTR(make_faces(config, 0, -1), "must be >= 0");
  CHECK(make_faces(config, 0, 0).empty());
  CHECK_THROWS_WITH_SUBSTR(hair_color_name(10), "out of range");
  CHECK_THROWS_WITH_SUBSTR(face_landmark_label(14), "out of range");
  CHECK_THROWS_WITH_SUBSTR(face_caption_keywords("hair_size", "big"), "unknown factor");
  CHECK_THROWS_WITH_SUBSTR(face_caption_keywords("hair_style", "dreadlocks"), "no value");
}
