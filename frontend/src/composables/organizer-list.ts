import { computed, onMounted, type Ref } from 'vue';
import { organizerMessage } from 'src/components/organizer/messages';
import { usePageLoad } from 'src/composables/page-load';

/**
 * An organizer list page's loading state for one list kept in the organizer store: the spinner shows only while
 * the store has no copy yet (a cached list shows at once and refreshes), errors as organizer sentences; loads on
 * mount. `items` is the list, empty until loaded.
 */
export function useOrganizerList<T>(list: () => T[] | undefined, fetch: () => Promise<unknown>) {
  const { loading, error, load } = usePageLoad(fetch, {
    spinner: () => list() === undefined,
    message: organizerMessage,
    loadingAtFirst: list() === undefined,
  });
  const items = computed(() => list() ?? []) as Readonly<Ref<T[]>>;
  onMounted(load);
  return { loading, error, items, load };
}
