/*
 * hello: the quick-start demo.
 *
 *   osmo run examples/hello.wasm [WORDS...]
 *
 * Prints "hello WORDS from Osmosis" ("hello world from Osmosis" without arguments), then a small
 * computation done inside the WebAssembly sandbox: how many primes there are below 1 000 000.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 1000000

int main(int argc, char **argv) {
  printf("hello");
  if (argc < 2) printf(" world");
  for (int i = 1; i < argc; i++) printf(" %s", argv[i]);
  printf(" from Osmosis\n");

  /* Sieve of Eratosthenes. */
  char *composite = calloc(LIMIT, 1);
  long long count = 0, sum = 0;
  for (long long i = 2; i < LIMIT; i++) {
    if (composite[i]) continue;
    count++;
    sum += i;
    for (long long j = i * i; j < LIMIT; j += i) composite[j] = 1;
  }
  free(composite);
  printf("computed in wasm: %lld primes below %d (their sum is %lld)\n", count, LIMIT, sum);
  return 0;
}
