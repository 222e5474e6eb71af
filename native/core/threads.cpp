#include "threads.hpp"

#include <sched.h>

#include <atomic>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace saematch {
namespace {

// The cgroup's CPU quota in CPUs (rounded up), or 0 when there is none or it cannot be read.
// cgroup v2: "<quota> <period>" or "max <period>" in cpu.max; v1: cfs_quota_us / cfs_period_us.
// The cgroup v2 folder of this process ("0::/path" in /proc/self/cgroup), or the mount root.
std::string cgroupV2Dir() {
  std::ifstream self("/proc/self/cgroup");
  std::string line;
  while (std::getline(self, line))
    if (line.rfind("0::", 0) == 0) return "/sys/fs/cgroup" + (line.size() > 3 && line != "0::/" ? line.substr(3) : std::string());
  return "/sys/fs/cgroup";
}

int cgroupCpus(std::string& where) {
  const std::string file = cgroupV2Dir() + "/cpu.max";
  std::ifstream v2(file);
  std::string quota;
  long long period = 0;
  if (v2 >> quota >> period) {
    where = file + " " + quota + " " + std::to_string(period);
    if (quota == "max" || period <= 0) return 0;
    const long long q = std::atoll(quota.c_str());
    return q > 0 ? static_cast<int>(std::ceil(static_cast<double>(q) / static_cast<double>(period))) : 0;
  }
  std::ifstream q1("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p1("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  long long q = 0, p = 0;
  if (q1 >> q && p1 >> p) {
    where = "cgroup v1 cfs_quota_us " + std::to_string(q) + " / cfs_period_us " + std::to_string(p);
    if (q <= 0 || p <= 0) return 0;
    return static_cast<int>(std::ceil(static_cast<double>(q) / static_cast<double>(p)));
  }
  where = "no cgroup CPU quota found";
  return 0;
}

ThreadBudget measure() {
  ThreadBudget b;
  const unsigned hw = std::thread::hardware_concurrency();
  int n = hw == 0 ? 1 : static_cast<int>(hw);
  std::ostringstream why;
  why << "hardware_concurrency " << n;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int affinity = CPU_COUNT(&set);
    why << "; sched_getaffinity " << affinity << " CPU" << (affinity == 1 ? "" : "s");
    if (affinity > 0 && affinity < n) n = affinity;
  }
  std::string where;
  const int quota = cgroupCpus(where);
  why << "; " << where;
  if (quota > 0 && quota < n) n = quota;
  // Slurm's allotment when the job step did not also bind the task to a cpuset.
  if (const char* slurm = std::getenv("SLURM_CPUS_PER_TASK")) {
    const int s = std::atoi(slurm);
    why << "; SLURM_CPUS_PER_TASK " << slurm;
    if (s > 0 && s < n) n = s;
  }
  b.threads = n < 1 ? 1 : n;
  b.reason = why.str();
  return b;
}

std::atomic<int> chosenThreads{0};

}  // namespace

int threadLimit() {
  const int chosen = chosenThreads.load(std::memory_order_relaxed);
  return chosen > 0 ? chosen : threadBudget().threads;
}

void setThreadLimit(int threads) { chosenThreads.store(threads > 0 ? threads : 0, std::memory_order_relaxed); }

const ThreadBudget& threadBudget() {
  static const ThreadBudget budget = measure();
  return budget;
}

}  // namespace saematch
