/*
 * primes: counts the primes below N by trial division — pure integer work, almost no memory, so
 * its image is small and it moves quickly. One of the programs `osmo demo` spreads over its nodes.
 *
 *   osmo run examples/primes.wasm [N]     default N = 2000000
 *
 * Prints one line: "primes below N: COUNT (cpu S s)", S the program's own CPU time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_prime(unsigned n) {
  if (n < 2) return 0;
  if (n % 2 == 0) return n == 2;
  for (unsigned d = 3; d <= n / d; d += 2)
    if (n % d == 0) return 0;
  return 1;
}

int main(int argc, char **argv) {
  long long n = argc > 1 ? atoll(argv[1]) : 2000000;
  if (n < 0 || n > 4000000000LL) {
    fprintf(stderr, "primes: N must be between 0 and 4000000000\n");
    return 2;
  }
  unsigned long count = 0;
  for (long long i = 0; i < n; i++) count += (unsigned long)is_prime((unsigned)i);
  printf("primes below %lld: %lu (cpu %.2f s)\n", n, count, cpu_seconds());
  return 0;
}
