// CLOCK_MONOTONIC in ns: the scale both fast lanes (fast-lane.c, rx-lane.c) keep their deadlines on.
// JavaScript converts from performance.now() (the same clock, another origin) with tun_fast_clock.
#ifndef OVERLAYD_MONO_CLOCK_H
#define OVERLAYD_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
