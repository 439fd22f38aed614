/** "Did you mean …?" for the command line: the closest known word to a mistyped one. */

/**
 * Optimal string alignment distance (Levenshtein with adjacent transpositions) between `a` and
 * `b`, or `limit + 1` as soon as it is certain to exceed `limit`.
 */
export function editDistance(
  a: string,
  b: string,
  limit: number = Number.POSITIVE_INFINITY,
): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, (before[j - 2] ?? 0) + 1);
      }
      current.push(value);
      best = Math.min(best, value);
    }
    if (best > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The known word closest to `input` when it is close enough to be a typo (at most 2 edits, and
 * fewer than a third of the longer word), else `undefined`. Ties go to the first candidate.
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const limit = Math.min(2, Math.floor(Math.max(input.length, candidate.length) / 3));
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase(), limit);
    if (distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` Did you mean "x"?` for a typo of a known word (shown by `show`), else the empty string. */
export function didYouMean(
  input: string,
  candidates: Iterable<string>,
  show: (word: string) => string = (word) => `"${word}"`,
): string {
  const match = closest(input, candidates);
  return match === undefined ? '' : ` Did you mean ${show(match)}?`;
}
