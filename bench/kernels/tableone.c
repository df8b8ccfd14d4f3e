/*
 * tableone: MOSIX's Table I workloads — CPU work with I/O to a file at home spread evenly
 * through it. ITERATIONS steps of a mixing function in total; after each 1/N of them one block
 * of BLOCK_KB is written to FILE, N = MB × 1024 / BLOCK_KB (MB 0: CPU only). Prints a checksum.
 *
 *   osmo run tableone.wasm ITERATIONS MB BLOCK_KB FILE
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x, uint64_t j) {
  x ^= x >> 13;
  x *= 0x9E3779B97F4A7C15ULL;
  return x + (j ^ (x >> 7));
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: tableone ITERATIONS MB BLOCK_KB FILE\n");
    return 2;
  }
  uint64_t total = strtoull(argv[1], NULL, 10);
  uint64_t mb = strtoull(argv[2], NULL, 10);
  size_t block = (size_t)strtoull(argv[3], NULL, 10) * 1024;
  uint64_t blocks = block == 0 ? 0 : mb * 1024 * 1024 / block;
  FILE *out = blocks > 0 ? fopen(argv[4], "w") : NULL;
  if (blocks > 0 && out == NULL) {
    perror(argv[4]);
    return 1;
  }
  char *buf = malloc(block > 0 ? block : 1);
  uint64_t chunks = blocks > 0 ? blocks : 1, per = total / chunks, x = 1;
  for (uint64_t c = 0; c < chunks; c++) {
    for (uint64_t j = 0; j < per; j++) x = mix(x, j);
    if (out != NULL) {
      memset(buf, (int)(x & 0xff), block);
      if (fwrite(buf, 1, block, out) != block) {
        perror("write");
        return 1;
      }
    }
  }
  if (out != NULL) fclose(out);
  printf("checksum %llu\n", (unsigned long long)x);
  return 0;
}
