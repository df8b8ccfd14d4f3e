/*
 * memhog: holds MB mebibytes of memory, dense (every byte pseudo-random) or sparse (one byte
 * per MiB set, the rest zero: 1 page in 16 holds data), prints "ready", waits for stdin to
 * close, then prints a checksum of the memory (so a benchmark can check that moves kept it).
 *
 *   osmo run memhog.wasm MB dense|sparse
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 16;
  int dense = argc > 2 && strcmp(argv[2], "dense") == 0;
  size_t n = mb << 20;
  uint8_t *p = malloc(n);
  if (p == NULL) {
    fprintf(stderr, "memhog: cannot allocate %zu MiB\n", mb);
    return 1;
  }
  uint64_t x = 88172645463325252ULL;
  if (dense) {
    for (size_t i = 0; i < n; i += 8) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      memcpy(p + i, &x, 8);
    }
  } else {
    memset(p, 0, n);
    for (size_t i = 0; i < n; i += 1 << 20) p[i] = (uint8_t)(i >> 20) | 1;
  }
  printf("ready\n");
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  uint64_t sum = 0;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    sum = sum * 31 + v;
  }
  printf("checksum %llu\n", (unsigned long long)sum);
  return 0;
}
