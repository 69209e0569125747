// The location directory (names for the ep_location ids boxes send), fetched once and shared by
// every view; the locations page reloads it after a change.
import { computed, signal } from '@preact/signals';
import { consoleApi, type Location } from '../api-console.js';
import { Unauthorized } from '../api.js';
import { handleError } from './session.js';

export const locations = signal<Location[] | null>(null);
export const locationNames = computed(() => new Map((locations.value ?? []).map((l) => [l.id, l.name])));
let loading: Promise<void> | null = null;

export function loadLocations(force = false): Promise<void> {
  if (loading && !force) return loading;
  loading = consoleApi
    .locations()
    .then((list) => {
      locations.value = [...list].sort((a, b) => a.name.localeCompare(b.name));
    })
    .catch((e: unknown) => {
      // A receiver without the directory: names stay ids; a lost login still shows the form.
      if (e instanceof Unauthorized) handleError(e);
      locations.value = [];
    });
  return loading;
}

/** The name of a location id, or the id itself when the directory has none. */
export function locationName(id: string | null | undefined): string {
  if (!id) return '';
  return locationNames.value.get(id) ?? id;
}
