import { computed, onMounted, ref, type Ref } from 'vue';
import { organizerMessage } from 'src/components/organizer/messages';

/**
 * An organizer list page's loading state for one list kept in the organizer store: the spinner shows only while
 * the store has no copy yet (a cached list shows at once and refreshes), errors as organizer sentences; loads on
 * mount. `items` is the list, empty until loaded.
 */
export function useOrganizerList<T>(list: () => T[] | undefined, fetch: () => Promise<unknown>) {
  const loading = ref(list() === undefined);
  const error = ref<string>();
  const items = computed(() => list() ?? []) as Readonly<Ref<T[]>>;

  async function load() {
    error.value = undefined;
    loading.value = list() === undefined;
    try {
      await fetch();
    } catch (e) {
      error.value = organizerMessage(e);
    } finally {
      loading.value = false;
    }
  }

  onMounted(load);
  return { loading, error, items, load };
}
