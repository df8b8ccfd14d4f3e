/*
 * lookup: first computes, then reads its home's files — a program whose work changes character
 * half-way, as many real ones do (compute a table, then serve queries from it). One of the
 * programs `osmo demo` runs: while it computes it travels like the others; once it starts
 * looking records up, every pread is a round trip to its home from wherever it runs, and the
 * home's balancer brings it back (reason "home").
 *
 *   osmo run examples/lookup.wasm FILE [RECORDS] [LOOKUPS]   defaults 65536 and 60000
 *
 * Phase 1 builds RECORDS records of 16 bytes (each costs ROUNDS rounds of integer mixing) and
 * writes them to FILE (created, or replaced). Phase 2 reads LOOKUPS records at random offsets
 * with pread — random on purpose, so no read-ahead can hide where the file is — and checks each
 * one. FILE is removed at the end.
 *
 * Prints one line: "lookup FILE: RECORDS records, LOOKUPS lookups, checksum C (cpu S s)", S the
 * program's own CPU time. Exit 1 when FILE cannot be written or read back intact.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 4000

struct record {
  uint64_t key;
  uint64_t value;
};

static double cpu_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One round of a 64-bit mixer (splitmix64's finaliser): cheap, and no compiler folds ROUNDS of it. */
static uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

static uint64_t value_of(uint64_t key) {
  uint64_t x = key + 0x9e3779b97f4a7c15ULL;
  for (int r = 0; r < ROUNDS; r++) x = mix(x + (uint64_t)r);
  return x;
}

static long parse(const char *text, const char *what, long fallback) {
  if (text == NULL) return fallback;
  char *end = NULL;
  long v = strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0' || v < 1 || v > 100000000) {
    fprintf(stderr, "lookup: %s must be a whole number from 1 to 100000000, not '%s'\n", what, text);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 4) {
    fprintf(stderr, "usage: lookup FILE [RECORDS] [LOOKUPS]\n");
    return 2;
  }
  const char *path = argv[1];
  long records = parse(argc > 2 ? argv[2] : NULL, "RECORDS", 65536);
  long lookups = parse(argc > 3 ? argv[3] : NULL, "LOOKUPS", 60000);

  struct record *table = malloc((size_t)records * sizeof *table);
  if (table == NULL) {
    fprintf(stderr, "lookup: no memory for %ld records\n", records);
    return 1;
  }
  for (long i = 0; i < records; i++) {
    table[i].key = (uint64_t)i;
    table[i].value = value_of((uint64_t)i);
  }
  FILE *out = fopen(path, "wb");
  if (out == NULL || fwrite(table, sizeof *table, (size_t)records, out) != (size_t)records ||
      fclose(out) != 0) {
    perror("lookup: writing the table");
    return 1;
  }
  free(table);

  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    perror("lookup: opening the table");
    return 1;
  }
  uint64_t state = 0x2545f4914f6cdd1dULL;
  uint64_t checksum = 0;
  for (long n = 0; n < lookups; n++) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    uint64_t i = state % (uint64_t)records;
    struct record r;
    if (pread(fd, &r, sizeof r, (off_t)(i * sizeof r)) != (ssize_t)sizeof r || r.key != i) {
      fprintf(stderr, "lookup: record %llu of %s is not what was written\n", (unsigned long long)i,
              path);
      return 1;
    }
    checksum += r.value;
  }
  close(fd);
  unlink(path);
  printf("lookup %s: %ld records, %ld lookups, checksum %016llx (cpu %.2f s)\n", path, records,
         lookups, (unsigned long long)checksum, cpu_seconds());
  return 0;
}
