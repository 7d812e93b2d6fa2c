// iris::json: building values, accessors and their errors, printing (compact/indented, numbers that
// round-trip), strict parsing with byte positions, UTF-8 and escapes, depth/size limits, and a fuzz loop.
// Leaves out: file handling (see test_safetensors.cpp for read_file / write_file_atomic).
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "io/json.h"
#include "tests/helpers.h"

using iris::Error;
using iris::json::parse;
using iris::json::Value;

TEST_CASE("json: building values and reading them back") {
  Value null_value;
  CHECK(null_value.is_null());
  CHECK(Value(nullptr).is_null());
  CHECK(Value(true).as_bool() == true);
  CHECK(Value(false).type() == Value::Type::boolean);
  CHECK(Value(3).as_int() == 3);
  CHECK(Value(int64_t(-5)).as_int() == -5);
  CHECK(Value(2.5).as_number() == 2.5);
  CHECK(Value(7.0).as_int() == 7);  // integral doubles convert
  CHECK(Value(size_t(12)).as_int() == 12);        // other integer types are not ambiguous
  CHECK(Value(uint64_t(UINT64_MAX)).is_number());  // above INT64_MAX: stored as a double
  CHECK_FALSE(Value(uint64_t(UINT64_MAX)).is_integer());
  CHECK(Value(2.5f).as_number() == 2.5);
  CHECK(Value("text").as_string() == "text");
  CHECK(Value(std::string("s")).is_string());

  Value arr = Value::array();
  CHECK(arr.is_array());
  CHECK(arr.size() == 0);
  arr.push_back(1);
  arr.push_back("two");
  arr.push_back(Value::object());
  CHECK(arr.size() == 3);
  CHECK(arr[0].as_int() == 1);
  CHECK(arr[1].as_string() == "two");
  CHECK(arr[2].is_object());
  arr[0] = 10;
  CHECK(arr[0].as_int() == 10);

  Value obj = Value::object();
  obj["zeta"] = 1;
  obj["alpha"] = "a";
  obj["mid"] = Value::array();
  obj["zeta"] = 2;  // replaces, keeps its place
  CHECK(obj.size() == 3);
  CHECK(obj.contains("alpha"));
  CHECK_FALSE(obj.contains("beta"));
  CHECK(obj.find("beta") == nullptr);
  const Value& cobj = obj;
  CHECK(cobj["zeta"].as_int() == 2);
  std::vector<std::string> keys;
  for (const auto& kv : obj.items()) keys.push_back(kv.first);
  CHECK(keys == std::vector<std::string>{"zeta", "alpha", "mid"});
  Value inserted = Value::object();
  CHECK(inserted["new"].is_null());  // the non-const operator[] inserts null
  CHECK(inserted.size() == 1);

  // A null value becomes an object / array on first use.
  Value grows;
  grows["a"]["b"] = 1;
  CHECK(grows.dump() == "{\"a\":{\"b\":1}}");
  Value list;
  list.push_back(1);
  CHECK(list.dump() == "[1]");

  // Copies are deep.
  Value copy = obj;
  copy["zeta"] = 3;
  CHECK(obj["zeta"].as_int() == 2);
  CHECK(copy != obj);
  copy["zeta"] = 2;
  CHECK(copy == obj);
  CHECK(Value(1) == Value(1.0));
  CHECK(Value(1) != Value("1"));
}

TEST_CASE("json: accessor errors name the expected type, the index or the key") {
  Value s("hi");
  CHECK_THROWS_WITH_SUBSTR(s.as_number(), "needs a number, but the value is a string");
  CHECK_THROWS_WITH_SUBSTR(s.as_int(), "as_int() needs a number");
  CHECK_THROWS_WITH_SUBSTR(s.as_bool(), "needs a bool");
  CHECK_THROWS_WITH_SUBSTR(Value(1).as_string(), "needs a string, but the value is a number");
  CHECK_THROWS_WITH_SUBSTR(Value(1.5).as_int(), "needs an integer");
  CHECK_THROWS_WITH_SUBSTR(Value(1e300).as_int(), "fits in 64 bits");
  CHECK_THROWS_WITH_SUBSTR(Value(9223372036854775808.0).as_int(), "fits in 64 bits");
  CHECK(Value(-9223372036854775808.0).as_int() == std::numeric_limits<int64_t>::min());
  CHECK_THROWS_WITH_SUBSTR(s.size(), "needs an array or an object");
  Value arr = Value::array();
  arr.push_back(1);
  const Value& carr = arr;
  CHECK_THROWS_WITH_SUBSTR(carr[1], "index 1 is out of range for an array of 1 elements");
  CHECK_THROWS_WITH_SUBSTR(arr[5], "index 5 is out of range");
  CHECK_THROWS_WITH_SUBSTR(arr["key"], "operator[](key) needs an object, but the value is an array");
  CHECK_THROWS_WITH_SUBSTR(carr.contains("key"), "needs an object");
  Value obj = Value::object();
  obj["present"] = 1;
  obj["other"] = 2;
  const Value& cobj = obj;
  CHECK_THROWS_WITH_SUBSTR(cobj["absent"], "missing key \"absent\"");
  CHECK_THROWS_WITH_SUBSTR(cobj["absent"], "\"present\", \"other\"");
  CHECK_THROWS_WITH_SUBSTR(Value::object()["x"].as_int(), "needs a number, but the value is null");
  CHECK_THROWS_WITH_SUBSTR(obj.push_back(1), "push_back() needs an array, but the value is an object");
  CHECK_THROWS_WITH_SUBSTR(cobj[0], "needs an array");
  CHECK_THROWS_WITH_SUBSTR(Value(static_cast<const char*>(nullptr)), "null const char*");
}

TEST_CASE("json: dump, compact and indented") {
  Value v = Value::object();
  v["name"] = "iris";
  v["n"] = 3;
  v["x"] = 0.5;
  v["ok"] = true;
  v["none"] = nullptr;
  v["list"] = Value::array();
  v["list"].push_back(1);
  v["list"].push_back(Value::array());
  v["empty"] = Value::object();
  CHECK(v.dump() ==
        R"({"name":"iris","n":3,"x":0.5,"ok":true,"none":null,"list":[1,[]],"empty":{}})");
  CHECK(v.dump(2) == "{\n"
                     "  \"name\": \"iris\",\n"
                     "  \"n\": 3,\n"
                     "  \"x\": 0.5,\n"
                     "  \"ok\": true,\n"
                     "  \"none\": null,\n"
                     "  \"list\": [\n"
                     "    1,\n"
                     "    []\n"
                     "  ],\n"
                     "  \"empty\": {}\n"
                     "}");
  CHECK(Value::array().dump(4) == "[]");
  CHECK(Value(5).dump(2) == "5");
  // Escapes: quotes, backslash, control characters; UTF-8 passes through.
  CHECK(Value(std::string("a\"b\\c\n\t\x01\x1f/\xc3\xa9")).dump() == "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\xc3\xa9\"");
  CHECK_THROWS_WITH_SUBSTR(Value(std::string("bad \xff byte")).dump(), "not valid UTF-8");
  CHECK_THROWS_WITH_SUBSTR(Value(std::string("cut \xc3")).dump(), "not valid UTF-8");
}

TEST_CASE("json: numbers print without loss") {
  CHECK(Value(1.0).dump() == "1");  // integers print without a decimal point
  CHECK(Value(-42.0).dump() == "-42");
  CHECK(Value(0.0).dump() == "0");
  CHECK(Value(-0.0).dump() == "-0.0");
  CHECK(std::signbit(parse("-0.0").as_number()));
  CHECK(Value(0.1).dump() == "0.1");
  CHECK(Value(1e300).dump() == "1e+300");
  CHECK(Value(std::numeric_limits<int64_t>::max()).dump() == "9223372036854775807");
  CHECK(Value(std::numeric_limits<int64_t>::min()).dump() == "-9223372036854775808");
  CHECK(parse("9223372036854775807").as_int() == std::numeric_limits<int64_t>::max());
  CHECK(parse("-9223372036854775808").as_int() == std::numeric_limits<int64_t>::min());
  CHECK(parse("9223372036854775808").as_number() == 9223372036854775808.0);  // past int64: a double
  CHECK_FALSE(parse("9223372036854775808").is_integer());
  CHECK(parse("12").is_integer());
  CHECK_FALSE(parse("12.0").is_integer());
  CHECK(parse("12.0").as_int() == 12);
  CHECK(parse("1E2").as_number() == 100.0);
  CHECK(parse("-1.5e-3").as_number() == -1.5e-3);
  CHECK(parse("1e-400").as_number() == 0.0);  // underflow rounds to zero
  CHECK(parse("0.0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
              "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
              "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
              "00000000000000000000000000000000000000000000000001")
            .as_number() == 0.0);
  CHECK_THROWS_WITH_SUBSTR(parse("1e400"), "too large for a double");
  CHECK_THROWS_WITH_SUBSTR(Value(std::nan("")).dump(), "non-finite");
  CHECK_THROWS_WITH_SUBSTR(Value(INFINITY).dump(), "non-finite");

  // Random doubles (random bit patterns, finite) survive dump -> parse bit for bit.
  std::mt19937_64 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, sizeof(d));
    if (!std::isfinite(d)) continue;
    std::string text = Value(d).dump();
    double back = parse(text).as_number();
    uint64_t back_bits;
    std::memcpy(&back_bits, &back, sizeof(back));
    REQUIRE_MESSAGE(back_bits == bits, text);
  }
  for (double d : {5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 9007199254740993.0, 0.3, 1.0 / 3.0}) {
    CHECK(parse(Value(d).dump()).as_number() == d);
    CHECK(parse(Value(-d).dump()).as_number() == -d);
  }
}

TEST_CASE("json: parse accepts JSON") {
  Value v = parse(" \n\t{\"a\" : [1, 2.5, -3, true, false, null, \"x\"], \"b\": {\"c\": {}} , \"d\":[]}\r\n ");
  CHECK(v["a"].size() == 7);
  CHECK(v["a"][0].as_int() == 1);
  CHECK(v["a"][1].as_number() == 2.5);
  CHECK(v["a"][2].as_int() == -3);
  CHECK(v["a"][3].as_bool());
  CHECK_FALSE(v["a"][4].as_bool());
  CHECK(v["a"][5].is_null());
  CHECK(v["a"][6].as_string() == "x");
  CHECK(v["b"]["c"].is_object());
  CHECK(v["d"].size() == 0);
  CHECK(parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"").as_string() == "\" \\ / \b \f \n \r \t");
  CHECK(parse("\"\\u00e9\\u20AC\"").as_string() == "\xc3\xa9\xe2\x82\xac");     // é €
  CHECK(parse("\"\\ud83d\\ude00\"").as_string() == "\xf0\x9f\x98\x80");         // U+1F600, a surrogate pair
  CHECK(parse("\"\\u0000\"").as_string() == std::string(1, '\0'));
  CHECK(parse("\"caf\xc3\xa9 \xf0\x9f\x98\x80\"").as_string() == "caf\xc3\xa9 \xf0\x9f\x98\x80");
  CHECK(parse("0").as_int() == 0);
  CHECK(parse("-0").as_int() == 0);
  // Insertion order is kept.
  Value o = parse("{\"z\":1,\"a\":2,\"m\":3}");
  CHECK(o.items()[0].first == "z");
  CHECK(o.items()[2].first == "m");
  // Round trip through dump, compact and indented.
  for (int indent : {-1, 0, 2}) CHECK(parse(v.dump(indent)) == v);
}

TEST_CASE("json: parse errors give the byte position and what was expected") {
  CHECK_THROWS_WITH_SUBSTR(parse("[1,2,]"), "at byte 5");
  CHECK_THROWS_WITH_SUBSTR(parse("[1,2,]"), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("{\"a\":1,}"), "at byte 7");
  CHECK_THROWS_WITH_SUBSTR(parse("{\"a\" 1}"), "expected ':' after an object key");
  CHECK_THROWS_WITH_SUBSTR(parse("{1:2}"), "expected a string key");
  CHECK_THROWS_WITH_SUBSTR(parse("[1 2]"), "expected ',' or ']'");
  CHECK_THROWS_WITH_SUBSTR(parse("{\"a\":1 \"b\":2}"), "expected ',' or '}'");
  CHECK_THROWS_WITH_SUBSTR(parse(""), "at byte 0");
  CHECK_THROWS_WITH_SUBSTR(parse(""), "got the end of the text");
  CHECK_THROWS_WITH_SUBSTR(parse("   "), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("1 2"), "expected the end of the text after the top-level value");
  CHECK_THROWS_WITH_SUBSTR(parse("{} x"), "at byte 3");
  CHECK_THROWS_WITH_SUBSTR(parse("[1,\n 2,\n x]"), "line 3, column 2");
  CHECK_THROWS_WITH_SUBSTR(parse("nul"), "the literal 'null'");
  CHECK_THROWS_WITH_SUBSTR(parse("tru"), "the literal 'true'");
  CHECK_THROWS_WITH_SUBSTR(parse("True"), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("NaN"), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("Infinity"), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("01"), "no leading zeros");
  CHECK_THROWS_WITH_SUBSTR(parse("1."), "a digit after the decimal point");
  CHECK_THROWS_WITH_SUBSTR(parse(".5"), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("-"), "a digit in a number");
  CHECK_THROWS_WITH_SUBSTR(parse("+1"), "expected a value");
  CHECK_THROWS_WITH_SUBSTR(parse("1e"), "a digit in the exponent");
  CHECK_THROWS_WITH_SUBSTR(parse("\"abc"), "a closing '\"'");
  CHECK_THROWS_WITH_SUBSTR(parse("\"a\nb\""), "raw control characters are not allowed");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\\x\""), "one of \\\"");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\\u12g4\""), "4 hex digits");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\\ud83d\""), "low surrogate");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\\ud83d\\u0041\""), "a low surrogate");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\\ude00\""), "a high surrogate before");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\xff\""), "valid UTF-8");
  CHECK_THROWS_WITH_SUBSTR(parse("\"\xc0\xaf\""), "valid UTF-8");         // overlong '/'
  CHECK_THROWS_WITH_SUBSTR(parse("\"\xed\xa0\x80\""), "valid UTF-8");     // encoded surrogate
  CHECK_THROWS_WITH_SUBSTR(parse("\"\xf4\x90\x80\x80\""), "valid UTF-8");  // above U+10FFFF
  CHECK_THROWS_WITH_SUBSTR(parse("\"\xe2\x82\""), "valid UTF-8");         // cut short by the quote
  CHECK_THROWS_WITH_SUBSTR(parse("\xef\xbb\xbf{}"), "byte 0xef");        // a BOM is not JSON
  CHECK_THROWS_WITH_SUBSTR(parse("{\"a\":1,\"a\":2}"), "duplicate key \"a\"");
  CHECK_THROWS_WITH_SUBSTR(parse(std::string("[1,\0]", 5)), "byte 0x00");
  CHECK_THROWS_WITH_SUBSTR(parse("/* c */ 1"), "expected a value");
}

TEST_CASE("json: nesting depth and value count are bounded") {
  // A depth bomb: far deeper than any stack could take if recursion were unbounded.
  std::string bomb = std::string(1000000, '[') + std::string(1000000, ']');
  CHECK_THROWS_WITH_SUBSTR(parse(bomb), "nest deeper than the limit of 64 levels");
  std::string object_bomb;
  for (int i = 0; i < 200000; ++i) object_bomb += "{\"a\":";
  CHECK_THROWS_WITH_SUBSTR(parse(object_bomb), "nest deeper");
  std::string unterminated(5000000, '[');
  CHECK_THROWS_AS(parse(unterminated), Error);

  auto nested = [](int depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  CHECK(parse(nested(64)).is_array());
  CHECK_THROWS_WITH_SUBSTR(parse(nested(65)), "limit of 64");
  CHECK(parse(nested(3), 3).is_array());
  CHECK_THROWS_WITH_SUBSTR(parse(nested(4), 3), "limit of 3");
  CHECK(parse("5", 0).as_int() == 5);  // scalars need no depth

  iris::json::ParseLimits limits;
  limits.max_values = 4;
  CHECK(parse("[1,2,3]", limits).size() == 3);  // 4 values: the array and 3 numbers
  CHECK_THROWS_WITH_SUBSTR(parse("[1,2,3,4]", limits), "more than the limit of 4 values");
}

TEST_CASE("json: fuzzed input throws iris::Error or parses, never anything else") {
  const std::string seed_doc =
      R"({"model": "vit", "layers": [1, 2.5e-3, -7, true, null], "nested": {"a": {"b": ["x\u00e9\n", {}]}},)"
      R"( "big": 123456789012345678901, "s": "caf\u00e9 \ud83d\ude00"})";
  REQUIRE(parse(seed_doc).is_object());
  const std::string alphabet = "{}[],:\"\\/ \n-+.0123456789eEtrufalsn\x01\x7f\xc3\xa9\xff\xed";
  std::mt19937_64 rng(20240611);
  int parsed = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string text = seed_doc;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t pos = rng() % text.size();
      switch (rng() % 4) {
        case 0: text[pos] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(pos, 1 + rng() % 8); break;
        case 2: text.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        default: text.resize(pos); break;
      }
    }
    try {
      Value v = parse(text);
      ++parsed;
      // Whatever parses must print and parse back to the same value.
      REQUIRE(parse(v.dump()) == v);
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(parsed > 0);
  CHECK(rejected > 0);
}
