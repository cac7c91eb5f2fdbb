import { ref } from 'vue';
import { messageOf } from 'src/api/problems';

/**
 * A buyer page's load state, the one shape every page with a LoadState had written out: `load()` clears the
 * error, shows the spinner (unless `spinner()` says a saved copy is already on screen), runs `fetch`, and turns
 * a failure into its human sentence. The page calls `load()` itself once its own state exists (and again for
 * "Try again"). The organizer's lists have their own (useOrganizerList: their store keeps the copy).
 */
export function usePageLoad(fetch: () => Promise<unknown>, opts: { spinner?: () => boolean } = {}) {
  const loading = ref(true);
  const error = ref('');

  async function load() {
    loading.value = opts.spinner ? opts.spinner() : true;
    error.value = '';
    try {
      await fetch();
    } catch (e) {
      error.value = messageOf(e);
    } finally {
      loading.value = false;
    }
  }

  return { loading, error, load };
}
