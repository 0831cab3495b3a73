import leven from "leven";

/**
 * The candidate closest to `word` by edit distance, if it is close enough to be a likely typo
 * (at most 2 edits, and fewer than half of the word's letters), else `undefined`. Among
 * candidates equally close, one spelt with the word's own letters comes first: two swapped
 * letters ("stpe") cost two Levenshtein edits, as much as two wrong ones ("type"), and are the
 * likelier typo. Otherwise the earlier candidate wins.
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const maxDistance = Math.min(2, Math.max(1, Math.floor(word.length / 2)));
  const letters = sortedLetters(word);
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  let bestSameLetters = false;
  for (const candidate of candidates) {
    const distance = leven(word, candidate, { maxDistance: maxDistance + 1 });
    if (distance > maxDistance) continue;
    const sameLetters = sortedLetters(candidate) === letters;
    if (distance < bestDistance || (distance === bestDistance && sameLetters && !bestSameLetters)) {
      best = candidate;
      bestDistance = distance;
      bestSameLetters = sameLetters;
    }
  }
  return best;
}

function sortedLetters(word: string): string {
  return [...word].sort().join("");
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
