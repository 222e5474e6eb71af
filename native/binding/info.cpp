// info() -> what this build and this machine offer (src/binding/addon.ts nativeInfo, `sae-match
// info`): BLAS, threads, AVX2, the build system, and the CUDA probe.
#include <string>

#include "../core/cost/cost.hpp"  // blasName, haveBlas
#include "../core/parallel.hpp"
#include "../core/simd.hpp"
#include "../cuda/device.hpp"
#include "register.hpp"

namespace saematch::binding {
namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", blasName());
  o.Set("haveBlas", haveBlas());
  o.Set("threads", hardwareThreads());
  const bool chosen = hardwareThreads() != threadBudget().threads;
  o.Set("threadsReason", threadBudget().reason + (chosen ? "; chosen: " + std::to_string(hardwareThreads()) + " (--threads)" : std::string()));
  o.Set("threadBudget", threadBudget().threads);
#ifdef SAE_MATCH_X86
  o.Set("avx2", cpuHasAvx2());
#else
  o.Set("avx2", false);
#endif
#ifdef SAE_MATCH_BUILD_SYSTEM
  o.Set("buildSystem", SAE_MATCH_BUILD_SYSTEM);
#endif
  cuda::DeviceReport r = cuda::probeDevices();
  Napi::Object c = Napi::Object::New(env);
  c.Set("compiled", r.compiled);
  c.Set("runtimeVersion", r.runtime_version);
  c.Set("driverVersion", r.driver_version);
  c.Set("deviceCount", r.device_count);
  c.Set("error", r.error);
  Napi::Array devs = Napi::Array::New(env, r.devices.size());
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const auto& d = r.devices[i];
    Napi::Object od = Napi::Object::New(env);
    od.Set("index", d.index);
    od.Set("name", d.name);
    od.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    od.Set("totalMemory", static_cast<double>(d.total_memory));
    od.Set("multiprocessors", d.multiprocessors);
    devs.Set(i, od);
  }
  c.Set("devices", devs);
  o.Set("cuda", c);
  return o;
}

// setThreads(n): the threads every parallel pass uses from now on (0: back to what the machine gave).
Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  setThreadLimit(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), hardwareThreads());
}

// parallelCounters() -> what the fork-join passes did so far (native/core/parallel.hpp).
// parallelCounters(delayUs) also sets the test seam that delays every worker's start.
Napi::Value Counters(const Napi::CallbackInfo& info) {
  ParallelCounters& c = parallelCounters();
  if (info.Length() > 0 && info[0].IsNumber()) c.test_worker_delay_us = info[0].As<Napi::Number>().Int64Value();
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("passes", static_cast<double>(c.passes.load()));
  o.Set("partsByCaller", static_cast<double>(c.parts_by_caller.load()));
  o.Set("partsByWorkers", static_cast<double>(c.parts_by_workers.load()));
  o.Set("workersIdle", static_cast<double>(c.workers_idle.load()));
  o.Set("spawnFailures", static_cast<double>(c.spawn_failures.load()));
  return o;
}

// blasRules(k) -> what the BLAS keeps bit for bit across call shapes at inner dimension k
// (native/core/cost/blas_rules.cpp): {rowTile, slotted, columnSubsets}; rowTile 0 when no tile does.
Napi::Value BlasRulesOf(const Napi::CallbackInfo& info) {
  const BlasRules r = blasRules(info[0].As<Napi::Number>().Int64Value());
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("rowTile", static_cast<double>(r.row_tile));
  o.Set("slotted", r.slotted);
  o.Set("columnSubsets", r.column_subsets);
  return o;
}

}  // namespace

void registerInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("parallelCounters", Napi::Function::New(env, Counters));
  exports.Set("blasRules", Napi::Function::New(env, BlasRulesOf));
}

}  // namespace saematch::binding
