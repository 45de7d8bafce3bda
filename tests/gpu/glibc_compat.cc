// Copyright the gem authors. The static libstdc++ of GCC 12 calls glibc 2.36's arc4random (for
// std::random_device); defining it here, over getrandom(2), keeps the bundle's program
// startable on glibc 2.35 (Ubuntu 22.04) as well. The GPU check never draws from it: its
// randomness is seeded (--seed).
#include <sys/random.h>

#include <cstdint>
#include <cstdlib>

extern "C" uint32_t arc4random(void) {
  uint32_t v = 0;
  if (getrandom(&v, sizeof(v), 0) != static_cast<ssize_t>(sizeof(v))) std::abort();
  return v;
}
