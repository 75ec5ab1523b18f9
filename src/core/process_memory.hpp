// The process's memory use as the operating system reports it, for vlmrt::Stats.
#pragma once

namespace vlmrt {

// Peak resident set size of this process so far, in MiB (Linux: VmHWM of /proc/self/status);
// 0 where the platform does not report it.
double peak_rss_mb() noexcept;

}  // namespace vlmrt
