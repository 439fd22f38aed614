/**
 * Rendezvous (highest random weight) hashing for keyed writes (internal). The weight of a
 * (key, cluster) pair depends only on the key and the cluster id, so adding a cluster can only
 * move keys onto the new cluster, and removing one only moves the keys it held.
 */

/** 53-bit string hash (cyrb53): fast, well mixed, allocation free. Not cryptographic. */
export function hash53(text: string, seed: number): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The per-cluster seed: a 32-bit hash of the cluster id. */
export function clusterSeed(clusterId: string): number {
  return hash53(clusterId, 0x9e3779b9) % 4294967296;
}

/** The rendezvous weight of `key` on the cluster with `seed`. */
export function rendezvousWeight(key: string, seed: number): number {
  return hash53(key, seed);
}

/**
 * Index of the winning candidate for `key`: the highest weight; ties (practically impossible)
 * go to the smallest id so the choice never depends on the order of the candidates.
 */
export function rendezvousPick(
  key: string,
  candidates: readonly { readonly id: string; readonly seed: number }[],
): number {
  let best = -1;
  let bestWeight = -1;
  let bestId = '';
  for (let i = 0; i < candidates.length; i++) {
    const candidate = candidates[i] as { readonly id: string; readonly seed: number };
    const weight = rendezvousWeight(key, candidate.seed);
    if (weight > bestWeight || (weight === bestWeight && candidate.id < bestId)) {
      best = i;
      bestWeight = weight;
      bestId = candidate.id;
    }
  }
  return best;
}

/**
 * {@link rendezvousPick} over the routing plan's flat arrays: the winner among the cluster
 * numbers `clusters[start] … clusters[end - 1]`, by `seeds[cluster]`, ties to the smallest id
 * (`ids[3 * cluster]`). Same choice as {@link rendezvousPick} over the same clusters.
 *
 * @returns The winning cluster number (-1 when the range is empty).
 */
export function rendezvousPickCluster(
  key: string,
  clusters: Int32Array,
  start: number,
  end: number,
  seeds: Float64Array,
  ids: readonly string[],
): number {
  let best = -1;
  let bestWeight = -1;
  for (let i = start; i < end; i++) {
    const cluster = clusters[i] as number;
    const weight = hash53(key, seeds[cluster] as number);
    if (
      weight > bestWeight ||
      (weight === bestWeight && (ids[3 * cluster] as string) < (ids[3 * best] as string))
    ) {
      best = cluster;
      bestWeight = weight;
    }
  }
  return best;
}
