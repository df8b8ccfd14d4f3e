/*
 * qsort: libc qsort() with a comparator function (indirect calls), on pseudo-random ints.
 *
 *   qsort [REPS]         default REPS=30 sorts of 500 000 ints; prints "qsort n=... reps=R checksum=..."
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define N 500000

static int cmp_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 30;
  int *v = malloc(N * sizeof *v);
  uint32_t seed = 12345;
  uint64_t checksum = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < N; i++) {
      seed = seed * 1664525u + 1013904223u; /* LCG */
      v[i] = (int)(seed >> 1);
    }
    qsort(v, N, sizeof *v, cmp_int);
    for (int i = 1; i < N; i++)
      if (v[i - 1] > v[i]) {
        printf("qsort: not sorted at %d\n", i);
        return 1;
      }
    checksum = checksum * 31 + (uint64_t)v[N / 2] + (uint64_t)v[N / 7];
  }
  printf("qsort n=%d reps=%d checksum=%llu\n", N, reps, (unsigned long long)checksum);
  free(v);
  return 0;
}
