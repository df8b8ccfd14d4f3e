/** The CPU kernels (bench/kernels/*.c) and their arguments, shared by the benchmarks that run them. */

/** Arguments sized for ≈ 0.3–1 s per run on the reference machine (2 vCPU); `scale` multiplies. */
export const KERNEL_ARGS: Record<string, (scale: number) => string[]> = {
  matmul: (s) => [String(Math.max(1, Math.round(6 * s)))],
  fib: (s) => [String(38 + Math.round(Math.log(s) / Math.log(1.618)))],
  qsort: (s) => [String(Math.max(1, Math.round(5 * s)))],
  hash: (s) => [String(Math.round(120 * s))],
  nbody: (s) => [String(Math.round(4_000_000 * s))],
  mix: (s) => [String(Math.round(20_000 * s))],
};
