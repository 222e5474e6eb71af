// Node-API bindings for suite analysis (top-k candidates, …).
#include "worker.hpp"

namespace saematch::binding {

void initAnalysis(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace saematch::binding
