// Copyright the gem authors. A small persistent worker pool for the CPU backend's ops.
//
// Workers sleep on a condition variable between jobs (no spinning: the machine is shared with
// OpenBLAS's threads and other processes). One job runs at a time, process-wide; a second caller
// waits for the first.
#ifndef GEM_ENGINE_THREAD_POOL_H_
#define GEM_ENGINE_THREAD_POOL_H_

#include <functional>

namespace gem {

// Calls fn(part) for part in [0, parts) on up to `threads` threads (the caller's included) and
// returns when all are done. parts <= 1 or threads <= 1 runs inline.
void ParallelParts(int parts, int threads, const std::function<void(int)>& fn);

}  // namespace gem

#endif  // GEM_ENGINE_THREAD_POOL_H_
