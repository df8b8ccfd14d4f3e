/*
 * fib: naive doubly-recursive Fibonacci (call overhead).
 *
 *   fib [N]              default N=44; prints "fib(N)=..."
 */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static unsigned long long fib(int n) { return n < 2 ? (unsigned long long)n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 44;
  printf("fib(%d)=%llu\n", n, fib(n));
  return 0;
}
