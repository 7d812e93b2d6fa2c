// The FACES renderer: FaceShader turns the factors into analytic regions of a canonical 48 x 48 frame
// and answers "which label and colour is at this point" front to back (glasses, hat, eyes, brows,
// nose, mouth, front hair, face, ears, neck, back hair, shirt, backdrop); render_face point-samples
// it on a supersampled canvas through the pose and box-downsamples. Leaves out: lighting, blur, and
// any anti-aliasing other than the supersampling.
#include <algorithm>
#include <cmath>

#include "data/synth/faces.h"
#include "tensor/error.h"

namespace iris::synth {

namespace {

constexpr float kFrame = 48.0f;   // every length of the factors is in pixels of this frame
constexpr float kCentre = 24.0f;  // the face centre and the pose's pivot: (24, 24)
constexpr float kPi = 3.14159265358979f;
constexpr int kJawSteps = 128;    // entries of each half of the face-width table

struct Rgb {
  float r = 0, g = 0, b = 0;
};
Rgb rgb(Color c) { return {float(c.r), float(c.g), float(c.b)}; }
Rgb operator*(Rgb c, float f) { return {c.r * f, c.g * f, c.b * f}; }
Rgb mix(Rgb a, Rgb b, float t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }

struct Shade {
  int label = face_label::background;
  Rgb color;
};

float sq(float v) { return v * v; }
bool in_ellipse(float dx, float dy, float rx, float ry) { return sq(dx / rx) + sq(dy / ry) <= 1.0f; }
float dist(float dx, float dy) { return std::sqrt(dx * dx + dy * dy); }
// Distance from p to the segment a-b.
float segment_distance(float px, float py, float ax, float ay, float bx, float by) {
  float vx = bx - ax, vy = by - ay;
  float t = ((px - ax) * vx + (py - ay) * vy) / std::max(1e-6f, vx * vx + vy * vy);
  t = std::min(1.0f, std::max(0.0f, t));
  return dist(px - ax - t * vx, py - ay - t * vy);
}

uint32_t hash3(uint32_t seed, int32_t x, int32_t y) {
  uint32_t h = seed * 0x9E3779B1u ^ static_cast<uint32_t>(x) * 0x85EBCA77u ^ static_cast<uint32_t>(y) * 0xC2B2AE3Du;
  h ^= h >> 15;
  h *= 0x2C1B3C6Du;
  h ^= h >> 12;
  h *= 0x297A2D39u;
  h ^= h >> 15;
  return h;
}
float hash_unit(uint32_t seed, int32_t x, int32_t y) { return (hash3(seed, x, y) >> 8) * (1.0f / 16777216.0f); }
// Smooth value noise in [0, 1): lattice hashes blended with a smoothstep.
float value_noise(uint32_t seed, float x, float y) {
  float fx = std::floor(x), fy = std::floor(y);
  int32_t ix = static_cast<int32_t>(fx), iy = static_cast<int32_t>(fy);
  float tx = x - fx, ty = y - fy;
  tx = tx * tx * (3 - 2 * tx);
  ty = ty * ty * (3 - 2 * ty);
  float a = hash_unit(seed, ix, iy), b = hash_unit(seed, ix + 1, iy);
  float c = hash_unit(seed, ix, iy + 1), d = hash_unit(seed, ix + 1, iy + 1);
  return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}

struct Box {
  float x0 = 0, y0 = 0, x1 = -1, y1 = -1;  // empty by default
  bool contains(float x, float y) const { return x >= x0 && x <= x1 && y >= y0 && y <= y1; }
};

constexpr Color kEyeColorRgb[] = {{104, 64, 34}, {58, 118, 212}, {58, 150, 78}, {122, 134, 146}};
constexpr Color kBrowColorRgb[] = {{40, 32, 30}, {76, 50, 34}, {118, 82, 50}, {188, 152, 92}};
constexpr Color kFrameColorRgb[] = {{26, 26, 32}, {112, 62, 30}, {190, 32, 42}, {32, 72, 172}};
constexpr Color kHatColorRgb[] = {{200, 42, 48}, {36, 52, 112}, {42, 122, 62}, {214, 170, 42}};
const Rgb kEyeOutline{44, 34, 34}, kEyeWhite{246, 246, 242}, kPupil{14, 14, 20}, kHighlight{255, 255, 255};
const Rgb kLipLine{128, 44, 50}, kMouthInside{96, 26, 36}, kTeeth{250, 250, 244};

// Everything about one face, derived once from its factors, in the canonical frame (dx, dy relative
// to the face centre unless a name says otherwise).
class FaceShader {
 public:
  explicit FaceShader(const FaceFactors& f) : f_(f) {
    const IdentityFactors& id = f.identity;
    a_ = id.face_half_width;
    b_ = id.face_half_height;
    b_low_ = id.face_shape == face_shape::round ? 0.93f * b_ : b_;
    build_jaw_table();
    skin_ = rgb(skin_tone_rgb(id.skin_tone));

    eye_y_ = -0.08f * b_;
    eye_rx_ = id.eye_size;
    eye_ry_ = 0.62f * id.eye_size;
    eye_x_[0] = -id.eye_spacing;
    eye_x_[1] = id.eye_spacing;
    iris_ = rgb(kEyeColorRgb[id.eye_color]);

    brow_half_thick_ = 0.5f * id.brow_thickness;
    brow_half_len_ = eye_rx_ + 0.7f;
    float tilt = id.brow_tilt_deg * kPi / 180.0f;
    for (int i = 0; i < 2; ++i) {
      float side = i == 0 ? -1.0f : 1.0f;
      brow_cx_[i] = side * (id.eye_spacing + 0.2f);
      brow_cy_[i] = eye_y_ - eye_ry_ - 1.5f - brow_half_thick_;
      // u points from the brow's centre to its outer end; v is perpendicular and points down.
      brow_ux_[i] = side * std::cos(tilt);
      brow_uy_[i] = -std::sin(tilt);
      brow_vx_[i] = -side * brow_uy_[i];
      brow_vy_[i] = std::fabs(brow_ux_[i]);
    }
    brow_ = rgb(kBrowColorRgb[id.brow_color]);
    float brow_top = brow_cy_[0] - brow_half_thick_ - 0.45f - brow_half_len_ * std::fabs(std::sin(tilt));
    fringe_limit_ = brow_top - 0.4f;

    nose_top_ = eye_y_ + 0.6f;
    nose_tip_ = eye_y_ + eye_ry_ + id.nose_length;

    mouth_y_ = nose_tip_ + 2.2f;
    mouth_hw_ = id.mouth_width;
    mouth_open_ = id.mouth_open;
    switch (id.expression) {
      case expression::smiling: mouth_curve_ = 1.0f, open_up_ = 0.5f, open_down_ = 1.5f; break;
      case expression::frowning: mouth_curve_ = -0.8f, open_up_ = 1.1f, open_down_ = 0.4f; break;
      default: mouth_curve_ = 0.0f, open_up_ = 0.7f, open_down_ = 1.0f; break;
    }
    lip_ = mix(skin_, Rgb{200, 70, 82}, 0.6f);

    glasses_ = id.glasses;
    frame_ = rgb(kFrameColorRgb[id.glasses_color]);
    frame_half_ = 0.55f;
    ring_r_ = eye_rx_ + 1.15f;
    rect_hx_ = eye_rx_ + 1.2f;
    rect_hy_ = eye_ry_ + 1.2f;
    lens_hx_ = glasses_ == glasses_kind::round ? ring_r_ : rect_hx_;
    glasses_y_ = eye_y_ - 0.3f;
    for (int i = 0; i < 2; ++i) {
      float side = i == 0 ? -1.0f : 1.0f;
      temple_end_x_[i] = side * std::max(0.0f, jaw_half_width(glasses_y_ - 0.3f) - 0.2f);
    }

    // The hat's brim is a band just above the hairline; hair is not drawn above its top.
    hat_ = f.scene.hat;
    hat_color_ = rgb(kHatColorRgb[f.scene.hat_color]);
    brim_bottom_ = -0.55f * b_;
    brim_top_ = brim_bottom_ - 1.5f;

    // Hair.
    const HairFactors& h = f.hair;
    style_ = h.style;
    volume_ = h.volume;
    hair_ = rgb(hair_color_rgb(h.color));
    hair_seed_ = h.texture_seed;
    part_side_ = h.parting == 0 ? -1.0f : 1.0f;
    curtain_x_ = std::max(a_ - 1.2f - 0.4f * (1.3f + 2.0f * volume_), id.eye_spacing + eye_rx_ + 1.0f);
    float phase = (hair_seed_ & 0xFFFF) * (2 * kPi / 65536.0f);
    curl_cos_ = std::cos(phase);
    curl_sin_ = std::sin(phase);
    curl_phase_ = phase;

    // Pose: image = centre + shift + scale * R(rotation) * (canonical - centre).
    float rot = f.scene.rotation_deg * kPi / 180.0f;
    cos_ = std::cos(rot);
    sin_ = std::sin(rot);
    scale_ = f.scene.scale;
    shift_x_ = f.scene.shift_x;
    shift_y_ = f.scene.shift_y;

    // Boxes (canonical, relative to the centre) that hold each part, to skip most tests quickly.
    float out = 0.5f;
    for (int i = 0; i < 2; ++i) {
      eye_box_[i] = {eye_x_[i] - eye_rx_ - out, eye_y_ - eye_ry_ - out, eye_x_[i] + eye_rx_ + out,
                     eye_y_ + eye_ry_ + out};
      float reach = brow_half_len_ + brow_half_thick_ + 1.0f;
      brow_box_[i] = {brow_cx_[i] - reach, brow_cy_[i] - reach, brow_cx_[i] + reach, brow_cy_[i] + reach};
    }
    nose_box_ = {-1.6f, nose_top_ - 0.1f, 1.6f, nose_tip_ + 0.1f};
    mouth_box_ = {-mouth_hw_ - 0.7f, mouth_y_ - 2.2f, mouth_hw_ + 0.7f, mouth_y_ + 3.2f};
    glasses_box_ = {-a_ - 1.0f, glasses_y_ - rect_hy_ - ring_r_ - 1.0f, a_ + 1.0f, glasses_y_ + ring_r_ + 1.0f};
    hat_box_ = {-a_ - 4.0f, -b_ - 6.0f, a_ + 4.0f, brim_bottom_ + 0.1f};
    face_box_ = {-a_ - 2.5f, -b_ - 0.1f, a_ + 2.5f, b_low_ + 0.1f};
  }

  // Label and colour at canonical point (x, y); (ox, oy) is the output pixel it falls in (for the
  // background noise, which is constant per output pixel) and `size` the output side.
  Shade shade(float x, float y, int ox, int oy, int size) const {
    float dx = x - kCentre, dy = y - kCentre;
    Shade s;
    if (glasses_ != glasses_kind::none && glasses_box_.contains(dx, dy) && on_glasses(dx, dy)) {
      return {face_label::glasses, frame_};
    }
    if (hat_ && hat_box_.contains(dx, dy) && shade_hat(dx, dy, s)) return s;
    for (int i = 0; i < 2; ++i) {
      if (eye_box_[i].contains(dx, dy) && shade_eye(i, dx, dy, s)) return s;
      if (brow_box_[i].contains(dx, dy) && on_brow(i, dx, dy)) return {face_label::left_brow + i, brow_};
    }
    if (nose_box_.contains(dx, dy) && shade_nose(dx, dy, s)) return s;
    if (mouth_box_.contains(dx, dy) && shade_mouth(dx, dy, s)) return s;
    bool hair = hair_allowed(dy) && on_hair(dx, dy);
    if (hair && hair_in_front(dx, dy)) return {face_label::hair, hair_color_at(dx, dy)};
    if (face_box_.contains(dx, dy)) {
      if (in_face(dx, dy)) return {face_label::skin, face_color_at(dx, dy)};
      if (shade_ear(dx, dy, s)) return s;
    }
    if (shade_neck(dx, dy, s)) return s;
    if (hair) return {face_label::hair, hair_color_at(dx, dy)};
    if (dy >= shoulder_dy(dx)) return {face_label::background, shirt_color_at(dx, dy)};
    return {face_label::background, background_at(ox, oy, size)};
  }

  // Canonical (absolute) point -> image point in the 48-frame, and back.
  void to_image(float x, float y, float& px, float& py) const {
    float dx = x - kCentre, dy = y - kCentre;
    px = kCentre + shift_x_ + scale_ * (cos_ * dx - sin_ * dy);
    py = kCentre + shift_y_ + scale_ * (sin_ * dx + cos_ * dy);
  }
  void to_canonical(float px, float py, float& x, float& y) const {
    float dx = (px - kCentre - shift_x_) / scale_, dy = (py - kCentre - shift_y_) / scale_;
    x = kCentre + cos_ * dx + sin_ * dy;
    y = kCentre - sin_ * dx + cos_ * dy;
  }

  // The 14 landmarks in canonical (absolute) coordinates, in the order of face_landmark_names().
  std::array<std::pair<float, float>, kNumFaceLandmarks> landmarks() const {
    std::array<std::pair<float, float>, kNumFaceLandmarks> p;
    auto at = [](float dx, float dy) { return std::make_pair(kCentre + dx, kCentre + dy); };
    p[0] = at(eye_x_[0] - eye_rx_, eye_y_);
    p[1] = at(eye_x_[0], eye_y_ - eye_ry_);
    p[2] = at(eye_x_[0] + eye_rx_, eye_y_);
    p[3] = at(eye_x_[0], eye_y_ + eye_ry_);
    p[4] = at(eye_x_[1] - eye_rx_, eye_y_);
    p[5] = at(eye_x_[1], eye_y_ - eye_ry_);
    p[6] = at(eye_x_[1] + eye_rx_, eye_y_);
    p[7] = at(eye_x_[1], eye_y_ + eye_ry_);
    for (int i = 0; i < 2; ++i) {
      float u = 0.85f * brow_half_len_, v = brow_arch(u);
      p[8 + i] = at(brow_cx_[i] + u * brow_ux_[i] + v * brow_vx_[i], brow_cy_[i] + u * brow_uy_[i] + v * brow_vy_[i]);
    }
    p[10] = at(0.0f, nose_tip_ - 0.25f);
    p[11] = at(-mouth_hw_, mouth_y_);
    p[12] = at(mouth_hw_, mouth_y_);
    p[13] = at(0.0f, b_low_ - 0.05f);
    return p;
  }

 private:
  // ---- face, ears, neck, shirt, backdrop -------------------------------------------------------
  // Half-width of the jaw outline at height dy, from two tables (upper and lower half); -1 outside.
  void build_jaw_table() {
    int shape = f_.identity.face_shape;
    for (int i = 0; i <= kJawSteps; ++i) {
      double t = double(i) / kJawSteps;  // |dy| / half-height
      double upper_n = shape == face_shape::square ? 2.5 : 2.0;
      jaw_upper_[i] = float(a_ * std::pow(std::max(0.0, 1.0 - std::pow(t, upper_n)), 1.0 / upper_n));
      double lower;
      switch (shape) {
        case face_shape::round: lower = std::pow(std::max(0.0, 1.0 - std::pow(t, 2.4)), 1.0 / 2.4); break;
        case face_shape::square: lower = std::pow(std::max(0.0, 1.0 - std::pow(t, 5.0)), 0.2) * (1.0 - 0.1 * t); break;
        default: lower = std::sqrt(std::max(0.0, 1.0 - t * t)) * (1.0 - 0.22 * t); break;
      }
      jaw_lower_[i] = float(a_ * lower);
    }
  }
  float jaw_half_width(float dy) const {
    if (dy < -b_ || dy > b_low_) return -1.0f;
    const float* table = dy < 0 ? jaw_upper_ : jaw_lower_;
    float t = (dy < 0 ? -dy / b_ : dy / b_low_) * kJawSteps;
    int i = std::min(kJawSteps - 1, static_cast<int>(t));
    float frac = t - i;
    return table[i] + (table[i + 1] - table[i]) * frac;
  }
  bool in_face(float dx, float dy) const { return std::fabs(dx) <= jaw_half_width(dy); }
  Rgb face_color_at(float dx, float dy) const {
    constexpr float e = 0.5f;  // outline width
    if (!in_face(dx + e, dy) || !in_face(dx - e, dy) || !in_face(dx, dy + e) || !in_face(dx, dy - e))
      return skin_ * 0.72f;
    return skin_ * (1.0f - 0.07f * sq(dx / a_));
  }
  bool shade_ear(float dx, float dy, Shade& s) const {
    float side = dx < 0 ? -1.0f : 1.0f;
    float ex = dx - side * (a_ - 0.4f), ey = dy - 0.05f * b_;
    if (!in_ellipse(ex, ey, 1.8f, 2.9f)) return false;
    float f = in_ellipse(ex, ey, 1.35f, 2.45f) ? (in_ellipse(ex - side * 0.3f, ey, 0.8f, 1.6f) ? 0.8f : 0.93f) : 0.72f;
    s = {face_label::skin, skin_ * f};
    return true;
  }
  float shoulder_dy(float dx) const { return b_ + 3.2f + 5.5f * sq(dx / (1.7f * a_)); }
  bool shade_neck(float dx, float dy, Shade& s) const {
    float half = 0.42f * a_;
    if (std::fabs(dx) > half || dy < 0.3f * b_ || dy > shoulder_dy(dx) + 1.2f) return false;
    s = {face_label::skin, skin_ * (std::fabs(dx) > half - 0.4f ? 0.72f : 0.84f)};
    return true;
  }
  Rgb shirt_color_at(float dx, float dy) const {
    Rgb shirt = rgb(f_.scene.shirt);
    return dy < shoulder_dy(dx) + 0.5f ? shirt * 0.75f : shirt;
  }
  Rgb background_at(int ox, int oy, int size) const {
    const SceneFactors& sc = f_.scene;
    float t = 0.0f;
    if (sc.background == background_kind::vertical_gradient) t = (oy + 0.5f) / size;
    if (sc.background == background_kind::diagonal_gradient) t = (ox + oy + 1.0f) / (2.0f * size);
    Rgb c = mix(rgb(sc.background_top), rgb(sc.background_bottom), t);
    float n = (hash_unit(sc.noise_seed, ox, oy) - 0.5f) * 2.0f * sc.noise_amplitude;
    return {c.r + n, c.g + n, c.b + n};
  }

  // ---- eyes, brows, nose, mouth, glasses, hat --------------------------------------------------
  bool shade_eye(int i, float dx, float dy, Shade& s) const {
    float ex = dx - eye_x_[i], ey = dy - eye_y_;
    constexpr float kOutline = 0.42f;
    if (!in_ellipse(ex, ey, eye_rx_ + kOutline, eye_ry_ + kOutline)) return false;
    s.label = face_label::left_eye + i;
    if (!in_ellipse(ex, ey, eye_rx_, eye_ry_)) {
      s.color = kEyeOutline;
      return true;
    }
    float iris_r = 0.95f * eye_ry_;
    float ix = ex, iy = ey - 0.05f * eye_ry_;
    if (sq(ix) + sq(iy) > sq(iris_r)) {
      s.color = kEyeWhite;
    } else if (sq(ix - 0.35f * iris_r) + sq(iy + 0.35f * iris_r) <= sq(0.3f * iris_r)) {
      s.color = kHighlight;
    } else {
      s.color = sq(ix) + sq(iy) <= sq(0.5f * iris_r) ? kPupil : iris_;
    }
    return true;
  }

  float brow_arch(float u) const { return -0.45f * (1.0f - sq(u / brow_half_len_)); }
  bool on_brow(int i, float dx, float dy) const {
    float px = dx - brow_cx_[i], py = dy - brow_cy_[i];
    float u = px * brow_ux_[i] + py * brow_uy_[i], v = px * brow_vx_[i] + py * brow_vy_[i];
    if (std::fabs(u) > brow_half_len_) return false;
    float half = brow_half_thick_ * (1.0f - 0.35f * std::max(0.0f, u / brow_half_len_));
    return std::fabs(v - brow_arch(u)) <= half;
  }

  bool shade_nose(float dx, float dy, Shade& s) const {
    float blob_y = nose_tip_ - 0.9f;
    if (in_ellipse(dx, dy - blob_y, 1.35f, 0.9f)) {
      bool nostril = in_ellipse(std::fabs(dx) - 0.55f, dy - (nose_tip_ - 0.45f), 0.33f, 0.3f);
      s = {face_label::nose, skin_ * (nostril ? 0.5f : 0.8f)};
      return true;
    }
    if (dy < nose_top_ || dy > blob_y) return false;
    float half = 0.25f + 0.35f * (dy - nose_top_) / std::max(0.1f, blob_y - nose_top_);
    if (std::fabs(dx) > half) return false;
    s = {face_label::nose, skin_ * 0.88f};
    return true;
  }

  bool shade_mouth(float dx, float dy, Shade& s) const {
    constexpr float kCap = 0.42f;
    if (std::fabs(dx) > mouth_hw_) {
      if (dist(std::fabs(dx) - mouth_hw_, dy - mouth_y_) > kCap) return false;
      s = {face_label::mouth, lip_};
      return true;
    }
    float w = 1.0f - sq(dx / mouth_hw_);
    float centre = mouth_y_ + mouth_curve_ * w;
    float top = centre - (mouth_open_ ? open_up_ * w : 0.0f);
    float bottom = centre + (mouth_open_ ? open_down_ * w : 0.0f);
    float lip = kCap + 0.2f * w;
    if (dy < top - lip || dy > bottom + lip) return false;
    s.label = face_label::mouth;
    if (mouth_open_ && dy > top && dy < bottom) {
      bool teeth = f_.identity.expression == expression::smiling && dy < top + 0.35f * (bottom - top);
      s.color = teeth ? kTeeth : kMouthInside;
    } else if (!mouth_open_ && std::fabs(dy - centre) < 0.22f) {
      s.color = kLipLine;
    } else {
      s.color = lip_;
    }
    return true;
  }

  bool on_glasses(float dx, float dy) const {
    float gy = dy - glasses_y_;
    for (int i = 0; i < 2; ++i) {
      float gx = dx - eye_x_[i];
      if (glasses_ == glasses_kind::round) {
        if (std::fabs(dist(gx, gy) - ring_r_) <= frame_half_) return true;
      } else {
        constexpr float kCorner = 0.9f;  // signed distance to a rounded rectangle
        float qx = std::fabs(gx) - rect_hx_ + kCorner, qy = std::fabs(gy) - rect_hy_ + kCorner;
        float sd = dist(std::max(qx, 0.0f), std::max(qy, 0.0f)) + std::min(std::max(qx, qy), 0.0f) - kCorner;
        if (std::fabs(sd) <= frame_half_) return true;
      }
      float side = i == 0 ? -1.0f : 1.0f;
      float outer = eye_x_[i] + side * lens_hx_;
      if (side * (temple_end_x_[i] - outer) > 0 &&
          segment_distance(dx, dy, outer, glasses_y_, temple_end_x_[i], glasses_y_ - 0.4f) <= 0.9f * frame_half_)
        return true;
    }
    return segment_distance(dx, dy, eye_x_[0] + lens_hx_, glasses_y_ - 0.3f, eye_x_[1] - lens_hx_,
                            glasses_y_ - 0.3f) <= frame_half_;
  }

  bool shade_hat(float dx, float dy, Shade& s) const {
    if (dy > brim_bottom_) return false;
    if (dy >= brim_top_) {  // the brim: a band a little wider than the head
      float half = (a_ + 2.2f) * std::sqrt(std::max(0.0f, 1.0f - sq(brim_bottom_ / (b_ + 2.6f)))) + 0.5f;
      if (std::fabs(dx) > half) return false;
      s = {face_label::background, hat_color_ * 0.78f};
      return true;
    }
    if (in_ellipse(dx, dy, a_ + 2.2f, b_ + 2.6f)) {
      s = {face_label::background, hat_color_};
      return true;
    }
    if (in_ellipse(dx, dy + b_ + 2.8f, 1.7f, 1.5f)) {  // pompom
      s = {face_label::background, mix(hat_color_, Rgb{255, 255, 255}, 0.35f)};
      return true;
    }
    return false;
  }

  // ---- hair --------------------------------------------------------------------------------------
  bool hair_allowed(float dy) const { return !hat_ || dy >= brim_top_; }
  // A common hairline: high in the middle, lower at the temples, never below the brows.
  float hairline(float dx, float depth = 0.5f) const {
    return std::min(-depth * b_ + 0.25f * b_ * sq(dx / a_), fringe_limit_);
  }
  // The superellipse corner |x/w|^4 + |y/h|^4 <= 1 used for the rounded bottoms of hair.
  static bool in_corner(float x, float y, float w, float h) { return sq(sq(x / w)) + sq(sq(y / h)) <= 1.0f; }

  // The ponytail hangs behind the head on the parting's side, from its tie down past the jaw,
  // thickest in the middle.
  bool on_tail(float dx, float dy) const {
    float x0 = part_side_ * (a_ + 0.3f), y0 = -0.62f * b_;
    float x1 = part_side_ * (a_ + 2.8f + 1.0f * volume_), y1 = 0.45f * b_ + 2.0f * volume_;
    float vx = x1 - x0, vy = y1 - y0;
    float t = std::min(1.0f, std::max(0.0f, ((dx - x0) * vx + (dy - y0) * vy) / (vx * vx + vy * vy)));
    float r = (1.7f + 0.8f * volume_) * (0.65f + 2.0f * t * (1.0f - t));
    return dist(dx - x0 - t * vx, dy - y0 - t * vy) <= r;
  }
  float tie_x() const { return part_side_ * (a_ + 0.6f); }
  float tie_y() const { return -0.52f * b_; }

  // The hair's silhouette (front and back parts together).
  bool on_hair(float dx, float dy) const {
    float v = volume_;
    switch (style_) {
      case hair_style::bald: {  // a fringe around the sides of the head, over the tops of the ears
        float th = 0.9f + 0.7f * v;
        return dy >= -0.5f * b_ && dy <= 0.0f && std::fabs(dx) >= std::max(0.55f * a_, jaw_half_width(dy) - 0.7f) &&
               in_ellipse(dx, dy, a_ + th, b_ + th);
      }
      case hair_style::buzz: {
        float th = 0.7f + 0.5f * v;
        return in_ellipse(dx, dy, a_ + th, b_ + th) &&
               (dy <= hairline(dx) || (std::fabs(dx) >= 0.8f * a_ && dy <= -0.15f * b_));
      }
      case hair_style::bob: {
        float th = 1.5f + 2.0f * v, w = a_ + th;
        if (dy <= 0) return in_ellipse(dx, dy, w, b_ + th);
        if (dy <= 0.3f * b_) return std::fabs(dx) <= w;
        return in_corner(dx, dy - 0.3f * b_, w, 0.32f * b_);
      }
      case hair_style::long_straight: {
        float th = 1.3f + 2.0f * v;
        if (dy <= 0) return in_ellipse(dx, dy, a_ + th, b_ + th);
        float w = a_ + th + 0.12f * dy;
        return std::fabs(dx) <= w && dy <= b_ + 8.0f + 3.0f * v - 1.2f * sq(dx / w);
      }
      case hair_style::ponytail: {
        float th = 0.9f + 0.4f * v;
        bool cap = in_ellipse(dx, dy, a_ + th, b_ + th) &&
                   (dy <= hairline(dx) || (std::fabs(dx) >= 0.82f * a_ && dy <= -0.12f * b_));
        return cap || on_tail(dx, dy) || dist(dx - tie_x(), dy - tie_y()) <= 1.1f;
      }
      case hair_style::curly: {
        if (dy > 0.5f * b_) return false;
        float cx = dx, cy = dy + 0.2f * b_;
        float r = dist(cx, cy), r0 = a_ + 2.6f + 2.2f * v;
        if (r <= r0 - 0.8f) return true;
        if (r > r0 + 0.8f) return false;
        return r <= r0 + 0.75f * curl_bump(cx, cy, r);
      }
      case hair_style::spiky: {
        float strip = 0.5f * a_;
        if (std::fabs(dx) > strip || dy > hairline(dx)) return false;
        float top = -b_ * std::sqrt(std::max(0.0f, 1.0f - sq(dx / a_)));
        float u = (dx + strip) / (2.0f * strip) * 5.0f;
        int k = std::min(4, std::max(0, static_cast<int>(u)));
        float frac = u - k;
        float height = (3.2f + 2.6f * v) * (1.0f - 0.18f * std::fabs(k - 2.0f));
        return dy >= top - 0.5f - height * (1.0f - std::fabs(2.0f * frac - 1.0f));
      }
      case hair_style::bangs: {
        float th = 1.3f + 2.0f * v, w = a_ + th;
        if (dy <= 0) return in_ellipse(dx, dy, w, b_ + th);
        float bottom = b_ + 1.5f + 2.0f * v;
        if (dy <= bottom - 2.5f) return std::fabs(dx) <= w;
        return in_corner(dx, dy - (bottom - 2.5f), w, 2.5f);
      }
      default: return false;
    }
  }
  // sin(10 theta + phase) for the point (x, y) at distance r, without atan2: the imaginary part of
  // (z / r)^10 e^{i phase}.
  float curl_bump(float x, float y, float r) const {
    if (r < 1e-4f) return 0.0f;
    float ur = x / r, ui = y / r;
    float r2 = ur * ur - ui * ui, i2 = 2 * ur * ui;        // z^2
    float r4 = r2 * r2 - i2 * i2, i4 = 2 * r2 * i2;        // z^4
    float r5 = r4 * ur - i4 * ui, i5 = r4 * ui + i4 * ur;  // z^5
    float r10 = r5 * r5 - i5 * i5, i10 = 2 * r5 * i5;      // z^10
    return r10 * curl_sin_ + i10 * curl_cos_;
  }
  // Whether the hair at this point lies in front of the face (fringe, cap, side curtains) or behind it.
  bool hair_in_front(float dx, float dy) const {
    switch (style_) {
      case hair_style::bald:
      case hair_style::buzz:
      case hair_style::spiky: return true;
      case hair_style::bob: {
        float px = part_side_ * 0.35f * a_;
        float line = std::min(-0.72f * b_ + 0.4f * b_ * sq((dx - px) / (1.7f * a_)), fringe_limit_);
        return dy <= line || (std::fabs(dx) >= curtain_x_ && dy <= 0.5f * b_);
      }
      case hair_style::long_straight: {
        float r = std::fabs(dx) / a_;
        float line = std::min(-0.78f * b_ + 0.55f * b_ * r * std::sqrt(r), fringe_limit_);
        return dy <= line || (std::fabs(dx) >= curtain_x_ && dy <= 0.65f * b_);
      }
      case hair_style::ponytail: return dy <= hairline(dx) || (std::fabs(dx) >= 0.82f * a_ && dy <= -0.12f * b_);
      case hair_style::curly: {
        float line = std::min(-0.5f * b_ + 0.25f * b_ * sq(dx / a_) + 0.5f * std::sin(1.8f * dx + curl_phase_),
                              fringe_limit_);
        return dy <= line || (std::fabs(dx) >= std::max(curtain_x_, a_ - 0.8f) && dy <= 0.2f * b_);
      }
      case hair_style::bangs:
        return dy <= fringe_limit_ + 0.25f * sq(dx / a_) - 0.25f || (std::fabs(dx) >= curtain_x_ && dy <= 0.7f * b_);
      default: return false;
    }
  }
  // Hair colour times a texture (strands, curls, stubble) and a dark outline at the silhouette and
  // at the hairline; the ponytail's tie is darker still.
  Rgb hair_color_at(float dx, float dy) const {
    if (style_ == hair_style::ponytail && dist(dx - tie_x(), dy - tie_y()) <= 1.1f) return hair_ * 0.5f;
    constexpr float e = 0.45f;
    const float nx[4] = {e, -e, 0, 0}, ny[4] = {0, 0, e, -e};
    bool front = hair_in_front(dx, dy);
    for (int k = 0; k < 4; ++k) {
      float x = dx + nx[k], y = dy + ny[k];
      bool hair_there = hair_allowed(y) && on_hair(x, y);
      if (!hair_there || (front && in_face(x, y) && !hair_in_front(x, y))) return hair_ * 0.62f;
    }
    float n;
    switch (style_) {
      case hair_style::curly: n = 0.76f + 0.24f * value_noise(hair_seed_, dx * 0.9f, dy * 0.9f); break;
      case hair_style::spiky: n = 0.8f + 0.2f * value_noise(hair_seed_, dx * 1.4f, dy * 0.25f); break;
      case hair_style::bald:
      case hair_style::buzz:
        n = 0.82f + 0.18f * hash_unit(hair_seed_, static_cast<int32_t>(std::floor(dx * 2.5f)),
                                      static_cast<int32_t>(std::floor(dy * 2.5f)));
        break;
      default: n = 0.8f + 0.2f * value_noise(hair_seed_, dx * 1.7f, dy * 0.22f); break;
    }
    return hair_ * n;
  }

  const FaceFactors& f_;
  float a_, b_, b_low_;
  float jaw_upper_[kJawSteps + 1], jaw_lower_[kJawSteps + 1];
  Rgb skin_;
  float eye_y_, eye_rx_, eye_ry_, eye_x_[2];
  Rgb iris_;
  float brow_cx_[2], brow_cy_[2], brow_ux_[2], brow_uy_[2], brow_vx_[2], brow_vy_[2];
  float brow_half_thick_, brow_half_len_, fringe_limit_;
  Rgb brow_;
  float nose_top_, nose_tip_;
  float mouth_y_, mouth_hw_, mouth_curve_, open_up_, open_down_;
  bool mouth_open_;
  Rgb lip_;
  int glasses_;
  Rgb frame_;
  float frame_half_, ring_r_, rect_hx_, rect_hy_, lens_hx_, glasses_y_, temple_end_x_[2];
  bool hat_;
  Rgb hat_color_;
  float brim_bottom_, brim_top_;
  int style_;
  float volume_;
  Rgb hair_;
  uint32_t hair_seed_;
  float part_side_, curtain_x_, curl_cos_, curl_sin_, curl_phase_;
  float cos_, sin_, scale_, shift_x_, shift_y_;
  Box eye_box_[2], brow_box_[2], nose_box_, mouth_box_, glasses_box_, hat_box_, face_box_;
};

uint8_t to_byte(float v) { return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, v)) + 0.5f); }

void check_sizes(int size, int supersample, const char* op) {
  IRIS_CHECK(size >= 16 && size <= 512, op, ": size must be in [16, 512] (48 or 96 are the usual), got ", size);
  IRIS_CHECK(supersample >= 1 && supersample <= 8, op, ": supersample must be in [1, 8], got ", supersample);
}

}  // namespace

const std::vector<std::string>& face_label_names() {
  static const std::vector<std::string> names = {"background", "skin",      "hair",     "left brow", "right brow",
                                                 "left eye",   "right eye", "nose",     "mouth",     "glasses"};
  return names;
}

const std::vector<std::string>& face_landmark_names() {
  static const std::vector<std::string> names = {
      "left eye outer corner", "left eye upper lid",  "left eye inner corner", "left eye lower lid",
      "right eye inner corner", "right eye upper lid", "right eye outer corner", "right eye lower lid",
      "left brow outer end",   "right brow outer end", "nose tip",              "mouth left corner",
      "mouth right corner",    "chin"};
  return names;
}

int face_landmark_label(int landmark) {
  IRIS_CHECK(landmark >= 0 && landmark < kNumFaceLandmarks, "face_landmark_label: landmark ", landmark,
             " is out of range 0..", kNumFaceLandmarks - 1);
  static const int labels[kNumFaceLandmarks] = {
      face_label::left_eye,  face_label::left_eye,   face_label::left_eye,  face_label::left_eye,
      face_label::right_eye, face_label::right_eye,  face_label::right_eye, face_label::right_eye,
      face_label::left_brow, face_label::right_brow, face_label::nose,      face_label::mouth,
      face_label::mouth,     face_label::skin};
  return labels[landmark];
}

FaceRender render_face_supersampled(const FaceFactors& factors, int size, int supersample) {
  check_sizes(size, supersample, "render_face");
  check_face_factors(factors);
  FaceShader shader(factors);
  const int side = size * supersample;
  const float step = kFrame / side;  // frame units per subpixel
  FaceRender out;
  out.image = Image(side, side, 3);
  out.labels = Image(side, side, 1);
  uint8_t* pixels = out.image.data();
  uint8_t* labels = out.labels.data();
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      float cx, cy;
      shader.to_canonical((x + 0.5f) * step, (y + 0.5f) * step, cx, cy);
      Shade s = shader.shade(cx, cy, x / supersample, y / supersample, size);
      size_t i = static_cast<size_t>(y) * side + x;
      labels[i] = static_cast<uint8_t>(s.label);
      pixels[3 * i] = to_byte(s.color.r);
      pixels[3 * i + 1] = to_byte(s.color.g);
      pixels[3 * i + 2] = to_byte(s.color.b);
    }
  }
  auto points = shader.landmarks();
  for (int k = 0; k < kNumFaceLandmarks; ++k) {
    float px, py;
    shader.to_image(points[k].first, points[k].second, px, py);
    FaceLandmark& lm = out.landmarks[k];
    lm.x = px / step - 0.5f;
    lm.y = py / step - 0.5f;
    bool inside = lm.x >= -0.5f && lm.y >= -0.5f && lm.x < side - 0.5f && lm.y < side - 0.5f;
    int ox = std::min(size - 1, std::max(0, static_cast<int>(px / kFrame * size)));
    int oy = std::min(size - 1, std::max(0, static_cast<int>(py / kFrame * size)));
    lm.visible = inside && shader.shade(points[k].first, points[k].second, ox, oy, size).label == face_landmark_label(k);
  }
  return out;
}

FaceRender downsample_face(const FaceRender& hi, int supersample) {
  IRIS_CHECK(supersample >= 1 && supersample <= 8, "downsample_face: supersample must be in [1, 8], got ",
             supersample);
  IRIS_CHECK(hi.image.channels() == 3 && hi.labels.channels() == 1 && hi.image.height() == hi.labels.height() &&
                 hi.image.width() == hi.labels.width(),
             "downsample_face: expected an RGB image and a one-channel label map of the same size");
  IRIS_CHECK(hi.image.height() % supersample == 0 && hi.image.width() % supersample == 0,
             "downsample_face: the canvas (", hi.image.height(), " x ", hi.image.width(),
             ") is not a multiple of supersample ", supersample);
  const int h = hi.image.height() / supersample, w = hi.image.width() / supersample, side = hi.image.width();
  const int n = supersample * supersample;
  FaceRender out;
  out.image = Image(h, w, 3);
  out.labels = Image(h, w, 1);
  const uint8_t* src = hi.image.data();
  const uint8_t* src_labels = hi.labels.data();
  for (int oy = 0; oy < h; ++oy) {
    for (int ox = 0; ox < w; ++ox) {
      int sum[3] = {0, 0, 0};
      int counts[256] = {0};
      int top_label = 0;
      for (int sy = 0; sy < supersample; ++sy) {
        size_t row = static_cast<size_t>(oy * supersample + sy) * side + ox * supersample;
        for (int sx = 0; sx < supersample; ++sx) {
          size_t i = row + sx;
          sum[0] += src[3 * i];
          sum[1] += src[3 * i + 1];
          sum[2] += src[3 * i + 2];
          ++counts[src_labels[i]];
          top_label = std::max(top_label, int(src_labels[i]));
        }
      }
      int best = 0;
      for (int l = 1; l <= top_label; ++l)
        if (counts[l] >= counts[best]) best = l;
      size_t o = static_cast<size_t>(oy) * w + ox;
      for (int c = 0; c < 3; ++c) out.image.data()[3 * o + c] = static_cast<uint8_t>((sum[c] + n / 2) / n);
      out.labels.data()[o] = static_cast<uint8_t>(best);
    }
  }
  for (int k = 0; k < kNumFaceLandmarks; ++k) {
    out.landmarks[k] = hi.landmarks[k];
    out.landmarks[k].x = (hi.landmarks[k].x + 0.5f) / supersample - 0.5f;
    out.landmarks[k].y = (hi.landmarks[k].y + 0.5f) / supersample - 0.5f;
  }
  return out;
}

FaceRender render_face(const FaceFactors& factors, int size, int supersample) {
  return downsample_face(render_face_supersampled(factors, size, supersample), supersample);
}

FaceRender render_with_hair(const FaceFactors& factors, const HairFactors& new_hair, int size, int supersample) {
  FaceFactors edited = factors;
  edited.hair = new_hair;
  return render_face(edited, size, supersample);
}

}  // namespace iris::synth
