import type { PlacementSpec } from '../job-types';
import { type Mutable, rejectUnknownKeys, requireObject, requireStringList } from './checks';

type LocationSpec = NonNullable<PlacementSpec['requirements']>;

const PLACEMENT_KEYS = ['requirements', 'preferences'] as const;
const LOCATION_KEYS = ['sites', 'regions'] as const;

/**
 * Checks `policies.placement`. Flare runs every job in one place, so placement is only stored
 * and echoed (project decision 6), but it must still have the shape the reference accepts.
 */
export function validatePlacement(value: unknown, field: string): PlacementSpec {
  const input = requireObject(value, field);
  rejectUnknownKeys(input, new Set(PLACEMENT_KEYS), field);

  const placement: Mutable<PlacementSpec> = {};
  for (const key of PLACEMENT_KEYS) {
    if (input[key] !== undefined) {
      placement[key] = validateLocations(input[key], `${field}.${key}`);
    }
  }
  return placement;
}

function validateLocations(value: unknown, field: string): LocationSpec {
  const input = requireObject(value, field);
  rejectUnknownKeys(input, new Set(LOCATION_KEYS), field);

  const locations: Mutable<LocationSpec> = {};
  for (const key of LOCATION_KEYS) {
    if (input[key] !== undefined) {
      locations[key] = requireStringList(input[key], `${field}.${key}`);
    }
  }
  return locations;
}
