#pragma once
// How busy the host was during a benchmark run: on a shared VM, steal time says
// how much the figures are worth.

#include <fstream>
#include <string>
#include <utility>

/// /proc/stat aggregate: {steal, busy} jiffies (busy includes steal).
inline std::pair<double, double> cpu_times() {
  std::ifstream f("/proc/stat");
  std::string cpu;
  double user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  f >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq >> steal;
  return {steal, user + nice + sys + irq + softirq + steal};
}
