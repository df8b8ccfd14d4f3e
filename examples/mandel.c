/*
 * mandel: renders the Mandelbrot set on a SIZE x SIZE grid (at most 1000 iterations a point) and
 * prints a checksum of the iteration counts — floating-point work in a few bytes of memory.
 * One of the programs `osmo demo` spreads over its nodes.
 *
 *   osmo run examples/mandel.wasm [SIZE]  default SIZE = 600
 *
 * Prints one line: "mandelbrot SIZExSIZE: checksum C, I% inside (cpu S s)".
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_ITER 1000

static double cpu_seconds(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) return -1;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  long size = argc > 1 ? atol(argv[1]) : 600;
  if (size < 1 || size > 100000) {
    fprintf(stderr, "mandel: SIZE must be between 1 and 100000\n");
    return 2;
  }
  unsigned long long checksum = 0;
  unsigned long inside = 0;
  for (long y = 0; y < size; y++) {
    double ci = -1.25 + 2.5 * (double)y / (double)size;
    for (long x = 0; x < size; x++) {
      double cr = -2.0 + 2.5 * (double)x / (double)size;
      double zr = 0, zi = 0;
      int i = 0;
      while (i < MAX_ITER && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        i++;
      }
      if (i == MAX_ITER) inside++;
      checksum = checksum * 31 + (unsigned)i;
    }
  }
  printf("mandelbrot %ldx%ld: checksum %016llx, %.1f%% inside (cpu %.2f s)\n", size, size, checksum,
         100.0 * (double)inside / ((double)size * (double)size), cpu_seconds());
  return 0;
}
