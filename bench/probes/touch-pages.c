/*
 * touch-pages: how long first-touching fresh anonymous memory takes on this machine, and whether
 * it depends on the pages having been used before (a VM that backs guest memory lazily makes
 * pages the guest kernel hands out for the first time, or that the host took back, much slower).
 * No Osmosis code: the baseline behind the migration figures of BENCHMARKS.md (issue 5).
 *
 *   cc -O2 -o /tmp/touch-pages bench/probes/touch-pages.c && /tmp/touch-pages MIB PAUSE_S
 *
 * Prints four rounds of: fresh mapping, the same size again right after unmapping, and again
 * after PAUSE_S seconds; then a mapping touched while another of the same size is still held
 * (what a move does: the old copy stays until the target confirms).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static char *map_and_touch(size_t bytes, double *ms) {
  char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    perror("touch-pages: mmap");
    exit(1);
  }
  double start = now_ms();
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
  *ms = now_ms() - start;
  return p;
}

static double touch_once(size_t bytes) {
  double ms;
  munmap(map_and_touch(bytes, &ms), bytes);
  return ms;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: touch-pages MIB PAUSE_S\n");
    return 2;
  }
  size_t bytes = (size_t)atoi(argv[1]) << 20;
  int pause_s = atoi(argv[2]);
  for (int round = 0; round < 4; round++) {
    double fresh = touch_once(bytes);
    double again = touch_once(bytes);
    if (pause_s > 0) sleep(pause_s);
    double later = touch_once(bytes);
    printf("fresh %.0f ms, again %.0f ms, after %d s %.0f ms\n", fresh, again, pause_s, later);
  }
  double held_ms;
  map_and_touch(bytes, &held_ms);
  printf("while holding another: %.0f ms\n", touch_once(bytes));
  return 0;
}
