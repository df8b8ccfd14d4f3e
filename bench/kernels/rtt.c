/*
 * rtt: times N system calls that the deputy serves (fd_fdstat_get on stdout: no data, no side
 * effect) one by one with the monotonic clock (read in the guest itself, so it costs no round
 * trip) and prints "p50_ns P p99_ns Q".
 *
 *   osmo run rtt.wasm [N=20000]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <wasi/api.h>

static uint64_t now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20000;
  uint64_t *d = malloc(sizeof(uint64_t) * (size_t)n);
  __wasi_fdstat_t st;
  for (int i = 0; i < n; i++) {
    uint64_t t0 = now();
    if (__wasi_fd_fdstat_get(1, &st) != 0) return 1;
    d[i] = now() - t0;
  }
  qsort(d, (size_t)n, sizeof d[0], cmp);
  printf("p50_ns %llu p99_ns %llu\n", (unsigned long long)d[n / 2],
         (unsigned long long)d[(size_t)n * 99 / 100]);
  return 0;
}
