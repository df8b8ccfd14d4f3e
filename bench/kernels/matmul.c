/*
 * matmul: dense double-precision matrix multiply C = A * B (N x N, i-k-j loop order), repeated.
 *
 *   matmul [REPS]        default REPS=64 (N=512); prints "matmul n=512 reps=R checksum=..."
 */
#include <stdio.h>
#include <stdlib.h>

#define N 512

static double A[N][N], B[N][N], C[N][N];

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 64;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      A[i][j] = (double)((i * 7 + j * 3) % 17) / 16.0 - 0.5;
      B[i][j] = (double)((i * 5 + j * 11) % 13) / 12.0 - 0.5;
    }
  double checksum = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) C[i][j] = 0;
    for (int i = 0; i < N; i++)
      for (int k = 0; k < N; k++) {
        double a = A[i][k];
        for (int j = 0; j < N; j++) C[i][j] += a * B[k][j];
      }
    for (int i = 0; i < N; i++) checksum += C[i][(i * 31 + r) % N];
    A[r % N][r % N] += 1.0; /* make each repetition different */
  }
  printf("matmul n=%d reps=%d checksum=%.6f\n", N, reps, checksum);
  return 0;
}
