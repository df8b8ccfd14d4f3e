/*
 * clock1m: syscall microbenchmark - N calls of clock_gettime(CLOCK_MONOTONIC).
 *
 *   clock1m [N]          default N=1000000; prints "clock1m calls=N backwards=0"
 *                        (backwards counts readings smaller than the previous one: must be 0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  long backwards = 0;
  long long prev = 0;
  for (long i = 0; i < n; i++) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long t = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if (t < prev) backwards++;
    prev = t;
  }
  printf("clock1m calls=%ld backwards=%ld\n", n, backwards);
  return backwards != 0;
}
