/*
 * readmany: opens DIR/f0 … DIR/f(N-1) one after the other with stdio, reads each whole and
 * closes it; prints the count, the bytes and a checksum — a program whose input is many small
 * files at its home.
 *
 *   osmo run readmany.wasm DIR N
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: readmany DIR N\n");
    return 2;
  }
  int n = atoi(argv[2]);
  char path[4096];
  static char buf[8192];
  uint64_t sum = 0, total = 0;
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%d", argv[1], i);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
      perror(path);
      return 1;
    }
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
      for (size_t j = 0; j < k; j++) sum = sum * 31 + (unsigned char)buf[j];
      total += k;
    }
    fclose(f);
  }
  printf("files %d bytes %llu checksum %llu\n", n, (unsigned long long)total, (unsigned long long)sum);
  return 0;
}
