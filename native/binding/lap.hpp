// The solver's results as JS objects, for the binding files that return them (lap.cpp, cuda.cpp).
#pragma once

#include <napi.h>

#include "../core/lap/lap.hpp"

namespace saematch::binding {

// LapStats as SolverStats (src/binding/addon.ts).
Napi::Object statsObject(Napi::Env env, const LapStats& s);
// A WarmStart as JS: {infeasible, rowToCol?, colToRow?, v?, stats}.
Napi::Object warmStartObject(Napi::Env env, const WarmStart& ws);

}  // namespace saematch::binding
