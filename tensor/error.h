// iris::Error and the two checking macros every file uses.
// User mistakes (wrong shapes, dtypes, files) throw iris::Error with a message that names the op
// and says what would fix it. Internal invariants use IRIS_ASSERT, which also throws (never aborts),
// and adds file and line. Nothing here formats tensors; see shape.h for shape_str().
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace iris {

struct Error : std::runtime_error {
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void stream_all(std::ostringstream&) {}
template <class T, class... Rest>
void stream_all(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  stream_all(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<< into one string.
template <class... Args>
std::string cat_str(const Args&... args) {
  std::ostringstream os;
  detail::stream_all(os, args...);
  return os.str();
}

}  // namespace iris

// IRIS_CHECK(cond, "op: what went wrong", ...): a user-facing check.
#define IRIS_CHECK(cond, ...)                                   \
  do {                                                          \
    if (!(cond)) throw ::iris::Error(::iris::cat_str(__VA_ARGS__)); \
  } while (0)

// IRIS_ASSERT(cond): an internal invariant; throws with file and line instead of aborting.
#define IRIS_ASSERT(cond)                                                                   \
  do {                                                                                      \
    if (!(cond))                                                                            \
      throw ::iris::Error(::iris::cat_str("internal error: ", #cond, " failed at ", __FILE__, \
                                          ":", __LINE__));                                  \
  } while (0)
