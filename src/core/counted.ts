/** "1 guest", "3 guests": a count with its noun, plural when it is not one. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
