import { closestMatch } from "leven";

/**
 * The candidate closest to `word` by edit distance, if it is close enough to be a likely typo
 * (at most 2 edits, and fewer than half of the word's letters), else `undefined`.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const maxDistance = Math.min(2, Math.max(1, Math.floor(word.length / 2)));
  return closestMatch(word, candidates, { maxDistance });
}

/** `"did you mean X?"` for the candidate closest to `word`, or `undefined` when none is close. */
export function didYouMean(
  word: string,
  candidates: readonly string[],
  show: (name: string) => string = (name) => name,
): string | undefined {
  const near = closestName(word, candidates);
  return near === undefined ? undefined : `did you mean ${show(near)}?`;
}
