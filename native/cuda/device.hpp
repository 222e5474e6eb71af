// What the CUDA side of the build can see at run time: the probe that `sae-match info` and backend
// selection rely on (the solver itself is gpu.hpp). device.cu with nvcc, device_none.cpp without.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace saematch::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;
  uint64_t total_memory = 0;
  int multiprocessors = 0;
};

struct DeviceReport {
  bool compiled = false;     // was this addon built with nvcc?
  int runtime_version = 0;   // CUDA runtime linked into the addon (static)
  int driver_version = 0;    // 0 when no driver is installed
  int device_count = 0;
  std::string error;         // why there is no usable device, e.g. "cudaErrorNoDevice (...)"
  std::vector<DeviceInfo> devices;
};

DeviceReport probeDevices();

}  // namespace saematch::cuda
