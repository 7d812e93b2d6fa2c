// davit: the arms' model, davit-pico (models/davit.h) with the arm's attention blocks (spatial,
// channel, dual, dual-cs, dual-nope), and its config as JSON for config.json and the weights' metadata.
// Leaves out: the other DaViT sizes (the app trains only the 32x32 miniature).
#include "apps/davit/davit_app.h"

namespace iris::davit_app {

json::Value config_json(const models::DavitConfig& c) {
  auto arr = [](const std::vector<int64_t>& v) {
    json::Value a = json::Value::array();
    for (int64_t x : v) a.push_back(x);
    return a;
  };
  json::Value v = json::Value::object();
  v["arm"] = c.arm();
  v["img_size"] = c.img_size, v["in_chans"] = c.in_chans, v["num_classes"] = c.num_classes;
  v["embed_dims"] = arr(c.embed_dims), v["depths"] = arr(c.depths), v["num_heads"] = arr(c.num_heads);
  v["window_size"] = c.window_size, v["mlp_ratio"] = c.mlp_ratio, v["drop_path_rate"] = c.drop_path_rate;
  return v;
}

models::DavitConfig model_config(const std::string& arm, int64_t num_classes, const Flags& flags) {
  models::DavitConfig cfg = models::DavitConfig::named("davit-pico").with_arm(arm);
  cfg.num_classes = num_classes;
  cfg.mlp_ratio = flags.get_double("mlp-ratio");
  cfg.drop_path_rate = flags.get_double("drop-path");
  return cfg;
}

}  // namespace iris::davit_app
