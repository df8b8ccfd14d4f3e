/** Argument parsers and exit codes shared by the simulator's subcommands. */
import { InvalidArgumentError } from 'commander';

export const EXIT_USAGE = 2;
export const EXIT_CHECK_FAILED = 3;

export function integer(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected an integer ≥ ${min}`);
    return n;
  };
}

export function fraction(value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('expected a number in [0, 1]');
  return n;
}

export function positive(value: string): number {
  const n = Number(value);
  if (!(n > 0 && Number.isFinite(n))) throw new InvalidArgumentError('expected a number > 0');
  return n;
}
