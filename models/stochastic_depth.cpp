// Stochastic depth's linear schedule (stochastic_depth.h).
#include "models/stochastic_depth.h"

#include "tensor/error.h"

namespace iris::models {

std::vector<double> drop_path_rates(double max_rate, int64_t n) {
  IRIS_CHECK(n >= 0, "drop_path_rates: the block count must be >= 0, got ", n);
  std::vector<double> rates(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    rates[i] = n > 1 ? max_rate * static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
  return rates;
}

}  // namespace iris::models
