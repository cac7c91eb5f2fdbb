// One colour per price tier (graphics contrast >= 3:1 on white), in the order the event lists its tiers.
import type { Tier } from 'src/api/types';

export const TIER_COLOURS = ['#1967d2', '#c5221f', '#137333', '#8430ce', '#b06000', '#007b83', '#b3126f', '#5f6368'];

export function tierColours(tiers: Tier[]): Record<string, string> {
  return Object.fromEntries(tiers.map((t, i) => [t.id, TIER_COLOURS[i % TIER_COLOURS.length]]));
}
