// Shared by the binding's translation units: the cancel token a JS AbortSignal flips, and the worker
// base class that runs a call off the event loop and turns C++ exceptions into rejected Promises with
// stable error codes (src/binding/addon.ts maps them onto the package's error classes).
//
// Every asynchronous export is fn(options, token) -> Promise: `options` is one object read by name
// (args.hpp), `token` the CancelToken of the call.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "../core/errors.hpp"  // InputError, DeviceError, Cancelled

namespace saematch::binding {

// Where a long call is: a phase name (a static string), and done of total in that phase. The worker
// writes it, JS reads it by polling the token (src/binding/addon.ts callNative), so no callback has to
// cross threads.
struct CallProgress {
  std::atomic<const char*> phase{""};
  std::atomic<int64_t> done{0}, total{0};
};

// Cancellation flag shared by a JS AbortSignal listener and the worker thread, and the call's progress.
class CancelToken : public Napi::ObjectWrap<CancelToken> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "CancelToken", {InstanceMethod("cancel", &CancelToken::Cancel), InstanceMethod("progress", &CancelToken::Progress)});
  }
  explicit CancelToken(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<CancelToken>(info), flag(std::make_shared<std::atomic<bool>>(false)), progress(std::make_shared<CallProgress>()) {}
  Napi::Value Cancel(const Napi::CallbackInfo& info) {
    flag->store(true);
    return info.Env().Undefined();
  }
  // progress() -> {phase, done, total}
  Napi::Value Progress(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("phase", progress->phase.load());
    o.Set("done", static_cast<double>(progress->done.load()));
    o.Set("total", static_cast<double>(progress->total.load()));
    return o;
  }
  std::shared_ptr<std::atomic<bool>> flag;
  std::shared_ptr<CallProgress> progress;
};

inline std::shared_ptr<std::atomic<bool>> tokenFlag(const Napi::Value& v) {
  if (!v.IsObject()) return std::make_shared<std::atomic<bool>>(false);
  return CancelToken::Unwrap(v.As<Napi::Object>())->flag;
}

inline std::shared_ptr<CallProgress> tokenProgress(const Napi::Value& v) {
  if (!v.IsObject()) return std::make_shared<CallProgress>();
  return CancelToken::Unwrap(v.As<Napi::Object>())->progress;
}

// A worker that resolves or rejects a Promise. Subclasses read their options in the constructor and
// implement Run() (on a worker thread, no JS) and Result() (back on the event loop).
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(const Napi::CallbackInfo& info)
      : Napi::AsyncWorker(info.Env(), "sae-match"), deferred(Napi::Promise::Deferred::New(info.Env())),
        cancel(tokenFlag(info[1])), progress(tokenProgress(info[1])) {}
  Napi::Promise promise() { return deferred.Promise(); }

  // Inputs must outlive the worker: keep a reference to every typed array we read or write.
  void keep(const Napi::Value& v) { refs.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 protected:
  void Execute() override {
    try {
      Run();
    } catch (const Cancelled&) {
      kind = "abort";
      SetError("The operation was aborted");
    } catch (const InputError& e) {
      kind = "input";
      SetError(e.what());
    } catch (const DeviceError& e) {
      kind = "device";
      SetError(e.what());
    } catch (const std::bad_alloc&) {
      kind = "internal";
      SetError("out of memory in the native addon");
    } catch (const std::exception& e) {
      kind = "internal";
      SetError(e.what());
    }
  }
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred.Resolve(Result(env));
    } catch (const Napi::Error& e) {
      deferred.Reject(e.Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    Napi::Object err = e.Value();
    if (kind == "abort") {
      err.Set("name", "AbortError");
      err.Set("code", "ABORT_ERR");
    } else {
      err.Set("code", kind == "input" ? "ERR_SAE_MATCH_INPUT" : kind == "device" ? "ERR_SAE_MATCH_DEVICE" : "ERR_SAE_MATCH_INTERNAL");
    }
    deferred.Reject(err);
  }

  Napi::Promise::Deferred deferred;
  std::shared_ptr<std::atomic<bool>> cancel;
  std::shared_ptr<CallProgress> progress;
  std::vector<Napi::ObjectReference> refs;
  std::string kind;
};

// The export for worker W: W(info) reads the options, then the work is queued.
template <typename W>
Napi::Value queue(const Napi::CallbackInfo& info) {
  auto* w = new W(info);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace saematch::binding
