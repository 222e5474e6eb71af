// How many threads this process may keep busy: the smallest of the CPUs the machine has, the CPUs
// this process may run on (its affinity mask: taskset, a Slurm or container cpuset), its cgroup's
// CPU quota (cpu.max), and Slurm's SLURM_CPUS_PER_TASK. hardware_concurrency alone ignores all but
// the first, and two threads spinning on one allowed CPU is what collapses a parallel step. This is
// a fact of the machine the process was given, measured once, not an engine switch.
#pragma once

#include <string>

namespace saematch {

struct ThreadBudget {
  int threads = 1;
  // What was found, for `sae-match info`: each source and its count.
  std::string reason;
};

const ThreadBudget& threadBudget();

// The threads the parallel passes use: the budget above, unless setThreadLimit chose a number
// (`--threads`, the API's setThreads). A chosen number may exceed the budget (the caller knows
// better, e.g. an oversubscribed benchmark); 0 returns to the budget.
int threadLimit();
void setThreadLimit(int threads);

}  // namespace saematch
