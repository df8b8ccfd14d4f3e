/*
 * pi: a parallel program whose parts talk through mailboxes (docs/mailboxes.md), as MOSIX's
 * programs did through migratable sockets. A collector sums what its workers send; the workers
 * compute wherever the cluster puts them, and may be moved while they do.
 *
 *   osmo run examples/pi.wasm collect W &            # its pid is the collector's address: $!
 *   for i in $(seq 0 $((W-1))); do
 *     osmo run examples/pi.wasm work $! $i W [STEPS] &
 *   done; wait
 *
 * Each worker integrates 4/(1+x²) over its W-th of [0,1] with the midpoint rule (STEPS steps in
 * all, default 400000000) and sends its part as one message. The collector prints each part as it
 * comes ("part I of W from HOME/PID") and the sum. A worker of another home sends to HOME/PID.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct header {
  uint32_t length;
  uint32_t sender_pid;
  char sender_home[64];
};

struct part {
  int32_t index;
  int32_t workers;
  double value;
};

static int read_full(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t got = read(fd, p, n);
    if (got <= 0) return -1;
    p += got;
    n -= (size_t)got;
  }
  return 0;
}

static int collect(int workers) {
  int fd = open("/proc/mailbox/self", O_RDONLY);
  if (fd < 0) {
    fprintf(stderr, "pi: cannot open /proc/mailbox/self: %s\n", strerror(errno));
    return 1;
  }
  printf("collecting %d parts\n", workers);
  fflush(stdout);
  double sum = 0;
  for (int got = 0; got < workers;) {
    struct header h;
    struct part p;
    if (read_full(fd, &h, sizeof h) != 0) return 1;
    if (h.length != sizeof p) {
      char skip[256];
      for (uint32_t left = h.length; left > 0;) {
        uint32_t n = left < sizeof skip ? left : (uint32_t)sizeof skip;
        if (read_full(fd, skip, n) != 0) return 1;
        left -= n;
      }
      continue; /* not a part: some other program's message */
    }
    if (read_full(fd, &p, sizeof p) != 0) return 1;
    printf("part %d of %d from %s/%u: %.15f\n", p.index, p.workers, h.sender_home, h.sender_pid,
           p.value);
    fflush(stdout);
    sum += p.value;
    got++;
  }
  printf("pi = %.12f\n", sum);
  return 0;
}

static int work(const char *to, int index, int workers, long long steps) {
  double h = 1.0 / (double)steps, value = 0;
  long long from = steps * index / workers, until = steps * (index + 1) / workers;
  for (long long i = from; i < until; i++) {
    double x = ((double)i + 0.5) * h;
    value += 4.0 / (1.0 + x * x);
  }
  struct part p = {index, workers, value * h};
  char path[128];
  snprintf(path, sizeof path, "/proc/mailbox/%s", to);
  int fd = open(path, O_WRONLY);
  if (fd < 0) {
    fprintf(stderr, "pi: cannot open %s: %s\n", path, strerror(errno));
    return 1;
  }
  /* ESRCH: the collector has not opened its mailbox yet (or is gone); try for 10 s. */
  for (int tries = 0; write(fd, &p, sizeof p) < 0; tries++) {
    if (errno != ESRCH || tries == 100) {
      fprintf(stderr, "pi: part %d not delivered to %s: %s\n", index, to, strerror(errno));
      return 1;
    }
    usleep(100000);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "collect") == 0) return collect(atoi(argv[2]));
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "work") == 0) {
    int index = atoi(argv[3]), workers = atoi(argv[4]);
    long long steps = argc == 6 ? atoll(argv[5]) : 400000000LL;
    if (workers < 1 || index < 0 || index >= workers || steps < workers) {
      fprintf(stderr, "pi: need 0 <= I < W and STEPS >= W\n");
      return 2;
    }
    return work(argv[2], index, workers, steps);
  }
  fprintf(stderr, "usage: pi collect W | pi work [HOME/]PID I W [STEPS]\n");
  return 2;
}
