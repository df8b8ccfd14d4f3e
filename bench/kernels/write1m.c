/*
 * write1m: syscall microbenchmark - N write() calls of 64 bytes each to fd 1.
 *
 *   write1m [N] > /dev/null   default N=1000000; stdout gets N lines of 63 characters + '\n';
 *                             the summary "write1m writes=N bytes=B" goes to stderr
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000000;
  char line[64];
  memset(line, 'w', sizeof line);
  line[63] = '\n';
  long long bytes = 0;
  for (long i = 0; i < n; i++) {
    ssize_t w = write(1, line, sizeof line);
    if (w < 0) {
      fprintf(stderr, "write1m: %s\n", strerror(errno));
      return 1;
    }
    bytes += w;
  }
  fprintf(stderr, "write1m writes=%ld bytes=%lld\n", n, bytes);
  return 0;
}
