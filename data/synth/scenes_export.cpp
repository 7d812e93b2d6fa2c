// The scenes world's outputs: a scene as JSON (everything but the pixels), the detection record, the
// images as a tensor batch, and pictures (boxes and labels drawn on the enlarged canvas, captions
// wrapped under it). Leaves out: reading scenes back from JSON (they are regenerated from the seed).
#include <algorithm>

#include "autograd/ops.h"
#include "data/synth/scenes.h"

namespace iris::synth {

namespace {

json::Value pair_value(int a, int b) {
  json::Value v = json::Value::array();
  v.push_back(a);
  v.push_back(b);
  return v;
}

json::Value ints(const std::vector<int>& values) {
  json::Value v = json::Value::array();
  for (int x : values) v.push_back(x);
  return v;
}

json::Value strings(const std::vector<std::string>& values) {
  json::Value v = json::Value::array();
  for (const std::string& s : values) v.push_back(s);
  return v;
}

json::Value grounded_json(const GroundedText& g) {
  json::Value out = json::Value::object();
  out["text"] = g.text;
  json::Value words = json::Value::array();
  for (const WordToken& t : word_tokens(g.text)) words.push_back(g.text.substr(t.begin, t.end - t.begin));
  out["words"] = std::move(words);
  json::Value phrases = json::Value::array();
  for (const PhraseSpan& p : g.phrases) {
    json::Value j = json::Value::object();
    j["objects"] = ints(p.objects);
    j["label"] = p.label;
    j["text"] = g.text.substr(p.char_begin, p.char_end - p.char_begin);
    j["chars"] = pair_value(p.char_begin, p.char_end);
    j["tokens"] = pair_value(p.token_begin, p.token_end);
    j["name_chars"] = pair_value(p.name_char_begin, p.name_char_end);
    j["name_tokens"] = pair_value(p.name_token_begin, p.name_token_end);
    phrases.push_back(std::move(j));
  }
  out["phrases"] = std::move(phrases);
  return out;
}

json::Value box_value(const SceneObject& o) { return ints({o.x0, o.y0, o.x1, o.y1}); }

}  // namespace

json::Value detection_record(const Scene& scene, bool include_novel) {
  json::Value out = json::Value::object();
  out["index"] = scene.index;
  out["split"] = scene_split_name(scene.split);
  out["width"] = scene.image.width();
  out["height"] = scene.image.height();
  json::Value annotations = json::Value::array();
  for (const SceneObject& o : scene.objects) {
    if (o.novel && !include_novel) continue;
    json::Value a = json::Value::object();
    a["id"] = o.id;
    a["bbox"] = box_value(o);
    a["category_id"] = o.label;
    a["category"] = o.name;
    a["novel"] = o.novel;
    annotations.push_back(std::move(a));
  }
  out["annotations"] = std::move(annotations);
  return out;
}

json::Value scene_to_json(const Scene& scene) {
  json::Value out = json::Value::object();
  out["index"] = scene.index;
  out["split"] = scene_split_name(scene.split);
  out["seed"] = scene.seed;
  out["size"] = scene.image.width();
  out["channels"] = scene.image.channels();
  out["shifted"] = scene.shifted;
  out["background"] = scene.background;
  json::Value objects = json::Value::array();
  for (const SceneObject& o : scene.objects) {
    json::Value j = json::Value::object();
    j["id"] = o.id;
    j["label"] = o.label;
    j["name"] = o.name;
    j["novel"] = o.novel;
    j["item_index"] = o.item_index;
    j["box"] = box_value(o);
    j["side_px"] = o.side_px;
    j["size"] = o.size;
    if (!o.colour.empty()) j["color"] = o.colour;
    objects.push_back(std::move(j));
  }
  out["objects"] = std::move(objects);
  json::Value relations = json::Value::array();
  for (const Relation& r : scene.relations) {
    json::Value j = json::Value::object();
    j["subject"] = r.subject;
    j["predicate"] = r.predicate;
    j["object"] = r.object;
    j["clear"] = r.clear;
    relations.push_back(std::move(j));
  }
  out["relations"] = std::move(relations);
  out["caption"] = grounded_json(scene.caption);
  json::Value referring = json::Value::array();
  for (const ReferringExpression& r : scene.referring) {
    json::Value j = grounded_json(r.expression);
    j["target"] = r.target;
    j["uses_relation"] = r.uses_relation;
    referring.push_back(std::move(j));
  }
  out["referring"] = std::move(referring);
  json::Value qa = json::Value::array();
  for (const QAPair& q : scene.qa) {
    json::Value j = json::Value::object();
    j["type"] = q.type;
    j["question"] = q.question;
    j["answer"] = q.answer;
    j["options"] = strings(q.options);
    j["answer_index"] = q.answer_index;
    j["objects"] = ints(q.objects);
    qa.push_back(std::move(j));
  }
  out["qa"] = std::move(qa);
  out["detection"] = detection_record(scene);
  return out;
}

Tensor scene_images(const std::vector<Scene>& scenes) {
  IRIS_CHECK(!scenes.empty(), "scene_images: no scenes");
  const Image& first = scenes[0].image;
  IRIS_CHECK(!first.empty(), "scene_images: scene 0 has no image");
  const int c = first.channels(), h = first.height(), w = first.width();
  Tensor out = empty({static_cast<int64_t>(scenes.size()), c, h, w});  // f32 [B, C, H, W]
  float* dst = out.data<float>();
  for (size_t b = 0; b < scenes.size(); ++b) {
    const Image& im = scenes[b].image;
    IRIS_CHECK(im.channels() == c && im.height() == h && im.width() == w, "scene_images: scene ", b, " is ",
               im.height(), "x", im.width(), "x", im.channels(), " but scene 0 is ", h, "x", w, "x", c,
               "; generate them with one config");
    const uint8_t* src = im.data();
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int k = 0; k < c; ++k)
          dst[((b * c + k) * h + y) * w + x] = src[(static_cast<size_t>(y) * w + x) * c + k] * (1.0f / 255.0f);
  }
  return out;
}

// ---- pictures ---------------------------------------------------------------------------------

std::string wrap_text(const std::string& text, int max_chars) {
  IRIS_CHECK(max_chars >= 1, "wrap_text: max_chars must be >= 1, got ", max_chars);
  std::string out, line;
  size_t i = 0;
  auto flush = [&] {
    if (!out.empty()) out += '\n';
    out += line;
    line.clear();
  };
  while (i < text.size()) {
    size_t j = text.find(' ', i);
    if (j == std::string::npos) j = text.size();
    std::string word = text.substr(i, j - i);
    i = j + 1;
    while (static_cast<int>(word.size()) > max_chars) {  // a word longer than a line is cut
      if (!line.empty()) flush();
      line = word.substr(0, max_chars);
      flush();
      word = word.substr(max_chars);
    }
    if (word.empty()) continue;
    if (!line.empty() && static_cast<int>(line.size() + 1 + word.size()) > max_chars) flush();
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty() || out.empty()) flush();
  return out;
}

Image draw_scene(const Scene& scene, int scale) {
  IRIS_CHECK(scale >= 1 && scale <= 16, "draw_scene: scale must be in [1, 16], got ", scale);
  IRIS_CHECK(!scene.image.empty(), "draw_scene: the scene has no image");
  const int h = scene.image.height() * scale, w = scene.image.width() * scale;
  Image picture(h, w, 3);
  paste_image(picture, scene.image, 0, 0, w, h);
  const int thickness = scale >= 3 ? 2 : 1;
  std::vector<LabeledBox> boxes;
  for (const SceneObject& o : scene.objects) {
    std::string label;
    if (o.size != "medium") label += o.size + " ";
    if (!o.colour.empty()) label += o.colour + " ";
    label += o.name + (o.novel ? "*" : "");
    // The outline lies just outside the item's pixels (it is drawn inside the box it is given).
    const Box outline{static_cast<double>(o.x0 * scale - thickness), static_cast<double>(o.y0 * scale - thickness),
                      static_cast<double>(o.x1 * scale + thickness), static_cast<double>(o.y1 * scale + thickness)};
    boxes.push_back({outline, label, colors::palette(o.label)});
  }
  draw_boxes(picture, boxes, thickness, 1);
  return picture;
}

GridCell scene_cell(const Scene& scene, int scale, int questions) {
  GridCell cell;
  cell.image = draw_scene(scene, scale);
  int chars = std::max(12, (cell.image.width() - 4) / font::kAdvance);
  std::string text = wrap_text(scene.caption.text, chars);
  // The richer kinds first: relations, counts, colours, then the rest in order.
  std::vector<const QAPair*> order;
  for (const char* type : {"relation", "count", "color", "verify", "size", "exist"})
    for (const QAPair& q : scene.qa)
      if (q.type == type) order.push_back(&q);
  for (int i = 0; i < questions && i < static_cast<int>(order.size()); ++i)
    text += "\n" + wrap_text("Q: " + order[i]->question + " A: " + order[i]->answer, chars);
  cell.caption = text;
  return cell;
}

}  // namespace iris::synth
