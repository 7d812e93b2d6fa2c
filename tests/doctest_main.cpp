// doctest's main(), compiled once and linked into every test binary. A suite that passes but
// skipped test cases for missing data (REQUIRE_FASHION_MNIST in tests/app_runner.h) exits with
// kSkipReturnCode, which CTest counts as skipped (SKIP_RETURN_CODE), not as passed.
// Leaves out any other doctest configuration (the command line is doctest's own).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

namespace iris::testing {
bool g_skipped_for_missing_data = false;
constexpr int kSkipReturnCode = 77;
}  // namespace iris::testing

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  if (context.shouldExit()) return status;
  if (status == 0 && iris::testing::g_skipped_for_missing_data) {
    std::fprintf(stderr, "some test cases were skipped: their data is not installed (make deps)\n");
    return iris::testing::kSkipReturnCode;
  }
  return status;
}
