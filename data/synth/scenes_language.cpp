// The scenes world's language: word tokens, spatial relations between the placed items, the caption
// (noun phrases linked to boxes by character and token spans), referring expressions and the
// question-answer pairs, each answer computed from the objects. Leaves out: layout and pixels
// (scenes.cpp), and any sub-word tokenizer (data/text/).
#include <algorithm>
#include <cctype>
#include <set>

#include "data/synth/scenes_detail.h"

namespace iris::synth {

std::vector<WordToken> word_tokens(const std::string& text) {
  std::vector<WordToken> tokens;
  auto is_word = [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '\'';
  };
  int n = static_cast<int>(text.size());
  for (int i = 0; i < n;) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) {
      ++i;
    } else if (is_word(text[i])) {
      int j = i;
      while (j < n && is_word(text[j])) ++j;
      tokens.push_back({i, j});
      i = j;
    } else {
      tokens.push_back({i, i + 1});
      ++i;
    }
  }
  return tokens;
}

GroundedText detection_prompt(const std::vector<int>& classes) {
  GroundedText out;
  for (size_t i = 0; i < classes.size(); ++i) {
    const std::string& name = class_name(classes[i]);  // checks the range
    if (i) out.text += " ";
    PhraseSpan p;
    p.label = classes[i];
    p.char_begin = p.name_char_begin = static_cast<int>(out.text.size());
    out.text += name;
    p.char_end = p.name_char_end = static_cast<int>(out.text.size());
    out.text += ".";
    out.phrases.push_back(p);
  }
  std::vector<WordToken> tokens = word_tokens(out.text);
  for (PhraseSpan& p : out.phrases) {
    auto first_at_or_after = [&](int ch) {
      int t = 0;
      while (t < static_cast<int>(tokens.size()) && tokens[t].begin < ch) ++t;
      return t;
    };
    p.token_begin = p.name_token_begin = first_at_or_after(p.char_begin);
    p.token_end = p.name_token_end = first_at_or_after(p.char_end);
  }
  return out;
}

namespace detail {

namespace {


std::string opposite(const std::string& r) {
  if (r == "left of") return "right of";
  if (r == "right of") return "left of";
  if (r == "above") return "below";
  return "above";
}

// The loose reading of a direction: the centre of a lies on that side of b's centre at all.
bool loosely(const std::string& r, const SceneObject& a, const SceneObject& b) {
  int ax = a.x0 + a.x1, bx = b.x0 + b.x1, ay = a.y0 + a.y1, by = b.y0 + b.y1;
  if (r == "left of") return ax < bx;
  if (r == "right of") return ax > bx;
  if (r == "above") return ay < by;
  return ay > by;
}

// Builds a text piece by piece, recording each noun phrase's character spans; finish() adds the
// token spans.
class TextBuilder {
 public:
  void add(const std::string& s) { text_ += s; }
  // Appends `lead` + `name` (lead: article, number and attribute words with their trailing space).
  void phrase(const std::string& lead, const std::string& name, std::vector<int> objects, int label) {
    PhraseSpan p;
    p.objects = std::move(objects);
    p.label = label;
    p.char_begin = static_cast<int>(text_.size());
    text_ += lead;
    p.name_char_begin = static_cast<int>(text_.size());
    text_ += name;
    p.char_end = p.name_char_end = static_cast<int>(text_.size());
    phrases_.push_back(std::move(p));
  }
  GroundedText finish() {
    GroundedText out{text_, phrases_};
    std::vector<WordToken> tokens = word_tokens(out.text);
    auto first_at_or_after = [&](int ch) {
      int t = 0;
      while (t < static_cast<int>(tokens.size()) && tokens[t].begin < ch) ++t;
      return t;
    };
    for (PhraseSpan& p : out.phrases) {
      p.token_begin = first_at_or_after(p.char_begin);
      p.token_end = first_at_or_after(p.char_end);
      p.name_token_begin = first_at_or_after(p.name_char_begin);
      p.name_token_end = first_at_or_after(p.name_char_end);
      IRIS_ASSERT(p.token_end > p.token_begin && tokens[p.token_begin].begin == p.char_begin &&
                  tokens[p.token_end - 1].end == p.char_end);
    }
    return out;
  }

 private:
  std::string text_;
  std::vector<PhraseSpan> phrases_;
};

struct Describer {
  Scene& scene;
  const SceneConfig& config;
  SynthRandom& rng;
  std::vector<int> vocabulary;  // classes the text may name (the seen split never names a novel class)

  const std::vector<SceneObject>& objects() const { return scene.objects; }

  int count_of(int label) const {
    return static_cast<int>(std::count_if(objects().begin(), objects().end(),
                                          [&](const SceneObject& o) { return o.label == label; }));
  }
  std::vector<int> ids_of(const std::vector<int>& labels) const {
    std::vector<int> ids;
    for (const SceneObject& o : objects())
      if (std::find(labels.begin(), labels.end(), o.label) != labels.end()) ids.push_back(o.id);
    return ids;
  }
  bool unique_class(const SceneObject& o) const { return count_of(o.label) == 1; }

  // The words before the name, with random attributes: "a small red ", "the ", "another " (for a
  // second object of a class already named in this text).
  enum class Article { indefinite, definite, another };
  std::string lead_words(const SceneObject& o, Article article, bool attributes) {
    std::string words;
    if (attributes && o.size != "medium" && rng.bernoulli(0.5)) words += o.size + " ";
    if (attributes && !o.colour.empty() && rng.bernoulli(0.6)) words += o.colour + " ";
    if (article == Article::definite) return "the " + words;
    if (article == Article::another) return "another " + words;
    return std::string(indefinite_article(words.empty() ? o.name : words)) + " " + words;
  }

  // An indefinite phrase for o, "another ..." when its class was named before in this text.
  void indefinite_phrase(TextBuilder& text, const SceneObject& o, std::set<int>& named) {
    Article article = named.count(o.label) ? Article::another : Article::indefinite;
    named.insert(o.label);
    text.phrase(lead_words(o, article, true), o.name, {o.id}, o.label);
  }

  // A list of noun phrases "x, y and z"; same-class objects may merge into "two bags".
  void list_phrases(TextBuilder& text, std::vector<int> ids, bool group, std::set<int>& named) {
    rng.shuffle(ids);
    std::vector<std::vector<int>> entries;
    for (int id : ids) {
      auto same = std::find_if(entries.begin(), entries.end(),
                               [&](const std::vector<int>& e) { return objects()[e[0]].label == objects()[id].label; });
      if (group && same != entries.end()) same->push_back(id);
      else entries.push_back({id});
    }
    for (size_t i = 0; i < entries.size(); ++i) {
      if (i > 0) text.add(i + 1 == entries.size() ? " and " : ", ");
      const SceneObject& first = objects()[entries[i][0]];
      if (entries[i].size() == 1) {
        indefinite_phrase(text, first, named);
      } else {
        std::vector<int> members = entries[i];
        std::sort(members.begin(), members.end());
        text.phrase(number_word(static_cast<int>(members.size())) + " ", class_plural(first.label), members,
                    first.label);
        named.insert(first.label);
      }
    }
  }

  void relations() {
    for (const SceneObject& a : objects()) {
      for (const SceneObject& b : objects()) {
        if (a.id == b.id) continue;
        bool clear = false;
        std::string r = spatial_relation(a.box(), b.box(), &clear);
        if (!r.empty()) scene.relations.push_back({a.id, b.id, r, clear});
      }
    }
    for (const SceneObject& a : objects()) {
      for (const SceneObject& b : objects()) {
        if (a.id == b.id) continue;
        int gap_x = std::max(a.x0 - b.x1, b.x0 - a.x1), gap_y = std::max(a.y0 - b.y1, b.y0 - a.y1);
        if (std::max(gap_x, gap_y) <= 2) scene.relations.push_back({a.id, b.id, "next to", true});
      }
    }
  }

  std::vector<Relation> clear_directions() const {
    std::vector<Relation> out;
    for (const Relation& r : scene.relations)
      if (r.clear && r.predicate != "next to") out.push_back(r);
    return out;
  }

  void caption() {
    TextBuilder text;
    std::vector<int> all;
    for (const SceneObject& o : objects()) all.push_back(o.id);
    std::vector<Relation> pairs = clear_directions();
    std::set<int> named;  // classes already named
    if (all.size() == 1) {
      const SceneObject& o = objects()[0];
      int form = static_cast<int>(rng.below(4));
      if (form == 1) text.add("a photo of ");
      if (form == 2) text.add("there is ");
      indefinite_phrase(text, o, named);
      if (form == 3) {
        const std::string& bg = scene.background;
        text.add(std::string(" on a ") + (bg == "texture" ? "textured" : bg == "clean" ? "black" : bg) + " background");
      }
    } else if (!pairs.empty() && rng.bernoulli(0.6)) {
      const Relation& r = rng.pick(pairs);
      const SceneObject& a = objects()[r.subject];
      const SceneObject& b = objects()[r.object];
      indefinite_phrase(text, a, named);
      text.add(" " + r.predicate + " ");
      indefinite_phrase(text, b, named);
      std::vector<int> rest;
      for (int id : all)
        if (id != a.id && id != b.id) rest.push_back(id);
      if (!rest.empty()) {
        text.add(", with ");
        list_phrases(text, rest, rng.bernoulli(0.5), named);
      }
    } else {
      static const std::vector<std::string> openings = {"", "there are ", "a photo of ", "a canvas with "};
      text.add(rng.pick(openings));
      list_phrases(text, all, rng.bernoulli(0.5), named);
    }
    text.add(".");
    scene.caption = text.finish();
  }

  void referring() {
    for (const SceneObject& t : objects()) {
      std::vector<const SceneObject*> same;
      for (const SceneObject& o : objects())
        if (o.label == t.label && o.id != t.id) same.push_back(&o);
      if (same.empty()) {
        TextBuilder text;
        text.phrase("the ", t.name, {t.id}, t.label);
        scene.referring.push_back({text.finish(), t.id, false});
        continue;
      }
      // An attribute that no other object of the class shares: colour first, then size.
      auto unique_attribute = [&](const std::string SceneObject::*field, bool skip_medium) -> std::string {
        const std::string& mine = t.*field;
        if (mine.empty() || (skip_medium && mine == "medium")) return "";
        for (const SceneObject* o : same)
          if (o->*field == mine) return "";
        return mine;
      };
      std::string attribute = unique_attribute(&SceneObject::colour, false);
      if (attribute.empty()) attribute = unique_attribute(&SceneObject::size, true);
      if (!attribute.empty()) {
        TextBuilder text;
        text.phrase("the " + attribute + " ", t.name, {t.id}, t.label);
        scene.referring.push_back({text.finish(), t.id, false});
      }
      // A relation to an object of a unique class that no other object of t's class has, even loosely.
      std::vector<Relation> candidates;
      for (const Relation& r : clear_directions()) {
        if (r.subject != t.id) continue;
        const SceneObject& anchor = objects()[r.object];
        if (anchor.label == t.label || !unique_class(anchor)) continue;
        if (std::any_of(same.begin(), same.end(), [&](const SceneObject* o) { return loosely(r.predicate, *o, anchor); }))
          continue;
        candidates.push_back(r);
      }
      if (!candidates.empty()) {
        const Relation& r = rng.pick(candidates);
        const SceneObject& anchor = objects()[r.object];
        TextBuilder text;
        text.phrase("the ", t.name, {t.id}, t.label);
        text.add(" " + r.predicate + " ");
        text.phrase("the ", anchor.name, {anchor.id}, anchor.label);
        scene.referring.push_back({text.finish(), t.id, true});
      }
    }
  }

  // Adds a question whose options are the answer plus distractors (distinct), shuffled.
  void ask(const std::string& type, const std::string& question, const std::string& answer,
           std::vector<std::string> distractors, size_t n_options, std::vector<int> ids, bool shuffle = true) {
    std::vector<std::string> options = {answer};
    for (const std::string& d : distractors) {
      if (options.size() >= n_options) break;
      if (std::find(options.begin(), options.end(), d) == options.end()) options.push_back(d);
    }
    if (shuffle) rng.shuffle(options);
    QAPair qa;
    qa.type = type;
    qa.question = question;
    qa.answer = answer;
    qa.answer_index = static_cast<int>(std::find(options.begin(), options.end(), answer) - options.begin());
    qa.options = std::move(options);
    qa.objects = std::move(ids);
    scene.qa.push_back(std::move(qa));
  }

  void ask_yes_no(const std::string& type, const std::string& question, bool yes, std::vector<int> ids) {
    ask(type, question, yes ? "yes" : "no", {yes ? "no" : "yes"}, 2, std::move(ids), false);
    scene.qa.back().options = {"yes", "no"};
    scene.qa.back().answer_index = yes ? 0 : 1;
  }

  // Class names to offer as wrong answers: other objects' names first, then random vocabulary.
  std::vector<std::string> class_distractors(int answer_label) {
    std::vector<std::string> names;
    std::vector<int> ids;
    for (const SceneObject& o : objects()) ids.push_back(o.id);
    rng.shuffle(ids);
    for (int id : ids)
      if (objects()[id].label != answer_label) names.push_back(objects()[id].name);
    std::vector<int> pool = vocabulary;
    rng.shuffle(pool);
    for (int c : pool)
      if (c != answer_label) names.push_back(class_name(c));
    return names;
  }

  std::vector<std::string> number_distractors(int answer) {
    std::vector<int> numbers = {0, 1, 2, 3, 4, 5};
    rng.shuffle(numbers);
    std::vector<std::string> out;
    for (int n : numbers)
      if (n != answer) out.push_back(number_word(n));
    return out;
  }

  // Groups the text may name: in the seen split only those without a novel class.
  std::vector<const ClassGroup*> usable_groups() const {
    std::vector<const ClassGroup*> out;
    for (const ClassGroup& g : class_groups()) {
      bool ok = std::all_of(g.classes.begin(), g.classes.end(), [&](int c) {
        return std::find(vocabulary.begin(), vocabulary.end(), c) != vocabulary.end();
      });
      if (ok) out.push_back(&g);
    }
    return out;
  }

  void questions() {
    std::vector<int> present, absent;
    for (int c : vocabulary) (count_of(c) > 0 ? present : absent).push_back(c);
    std::vector<const ClassGroup*> groups = usable_groups();

    // Existence: one class that is there, then one that is not (or a group word).
    if (!present.empty()) {
      int c = rng.pick(present);
      ask_yes_no("exist", std::string("is there ") + indefinite_article(class_name(c)) + " " + class_name(c) + "?",
                 true, ids_of({c}));
    }
    if (!groups.empty() && rng.bernoulli(0.3)) {
      const ClassGroup& g = *rng.pick(groups);
      std::vector<int> ids = ids_of(g.classes);
      ask_yes_no("exist", std::string("is there ") + indefinite_article(g.name) + " " + g.name + "?", !ids.empty(), ids);
    } else if (!absent.empty()) {
      int c = rng.pick(absent);
      ask_yes_no("exist", std::string("is there ") + indefinite_article(class_name(c)) + " " + class_name(c) + "?",
                 false, {});
    }

    // Counting: a group ("how many shoes?"), a class that is there, or one that is not.
    {
      std::string plural;
      std::vector<int> ids;
      if (!groups.empty() && rng.bernoulli(0.25)) {
        const ClassGroup& g = *rng.pick(groups);
        plural = g.plural;
        ids = ids_of(g.classes);
      } else {
        int c = (!present.empty() && (absent.empty() || rng.bernoulli(0.7))) ? rng.pick(present) : rng.pick(absent);
        plural = class_plural(c);
        ids = ids_of({c});
      }
      int n = static_cast<int>(ids.size());
      ask("count", "how many " + plural + "?", number_word(n), number_distractors(n), 4, ids);
    }

    // Relations: "what is left of the bag?" when exactly one object lies that way of a unique anchor,
    // even on the loose reading, and it does so clearly.
    std::vector<std::pair<int, int>> relation_questions;  // (answer, anchor) with the direction below
    std::vector<std::string> relation_words;
    for (const Relation& r : clear_directions()) {
      const SceneObject& anchor = objects()[r.object];
      if (!unique_class(anchor)) continue;
      int holders = 0;
      for (const SceneObject& o : objects())
        if (o.id != anchor.id && loosely(r.predicate, o, anchor)) ++holders;
      if (holders != 1) continue;
      relation_questions.push_back({r.subject, r.object});
      relation_words.push_back(r.predicate);
    }
    std::vector<int> order(relation_questions.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
    rng.shuffle(order);
    for (size_t k = 0; k < order.size() && k < 2; ++k) {
      auto [answer_id, anchor_id] = relation_questions[order[k]];
      const SceneObject& answer = objects()[answer_id];
      const SceneObject& anchor = objects()[anchor_id];
      ask("relation", "what is " + relation_words[order[k]] + " the " + anchor.name + "?", answer.name,
          class_distractors(answer.label), 4, {anchor_id, answer_id});
    }

    // Attributes of an object whose class is unique: colour (colour canvases) and size.
    std::vector<int> singles;
    for (const SceneObject& o : objects())
      if (unique_class(o)) singles.push_back(o.id);
    if (!singles.empty() && config.colour) {
      const SceneObject& o = objects()[rng.pick(singles)];
      std::vector<std::string> others;
      for (const auto& t : tint_palette(config.shifted)) others.push_back(t.first);
      rng.shuffle(others);
      ask("color", "what color is the " + o.name + "?", o.colour, others, 4, {o.id});
    }
    std::vector<int> sized;
    for (int id : singles)
      if (objects()[id].size != "medium") sized.push_back(id);
    if (!sized.empty()) {
      const SceneObject& o = objects()[rng.pick(sized)];
      ask("size", "is the " + o.name + " big or small?", o.size, {o.size == "big" ? "small" : "big"}, 2, {o.id}, false);
      scene.qa.back().options = {"big", "small"};
      scene.qa.back().answer_index = o.size == "big" ? 0 : 1;
    }

    // Visual entailment: a true relational statement, then a false one (the opposite direction, or an
    // absent class), checked false even on the loose reading.
    std::vector<Relation> pairs = clear_directions();
    if (!pairs.empty()) {
      const Relation& r = rng.pick(pairs);
      const SceneObject& a = objects()[r.subject];
      const SceneObject& b = objects()[r.object];
      auto statement = [](const std::string& x, const std::string& rel, const std::string& y) {
        return std::string("there is ") + indefinite_article(x) + " " + x + " " + rel + " " + indefinite_article(y) +
               " " + y + ".";
      };
      std::vector<std::string> verdicts = {"entail", "contradict"};
      ask("verify", statement(a.name, r.predicate, b.name), "entail", verdicts, 2, {a.id, b.id}, false);
      scene.qa.back().options = verdicts;
      scene.qa.back().answer_index = 0;
      std::string flipped = opposite(r.predicate);
      bool holds = false;
      for (const SceneObject& x : objects())
        for (const SceneObject& y : objects())
          if (x.id != y.id && x.label == a.label && y.label == b.label && loosely(flipped, x, y)) holds = true;
      std::string false_statement;
      if (!holds && rng.bernoulli(0.6)) false_statement = statement(a.name, flipped, b.name);
      else if (!absent.empty()) false_statement = statement(class_name(rng.pick(absent)), r.predicate, b.name);
      if (!false_statement.empty()) {
        ask("verify", false_statement, "contradict", verdicts, 2, {}, false);
        scene.qa.back().options = verdicts;
        scene.qa.back().answer_index = 1;
      }
    }
  }
};

}  // namespace

void describe_scene(Scene& scene, const SceneConfig& config, SynthRandom& rng) {
  Describer d{scene, config, rng, {}};
  for (int c = 0; c < kNumClasses; ++c)
    if (config.classes != SceneClasses::seen || !is_novel_class(config, c)) d.vocabulary.push_back(c);
  d.relations();
  d.caption();
  d.referring();
  d.questions();
}

}  // namespace detail

}  // namespace iris::synth
