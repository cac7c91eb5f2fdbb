import { ref } from 'vue';
import { messageOf } from 'src/api/problems';

/**
 * A page's load state, the one shape every page with a LoadState had written out: `load()` clears the error,
 * shows the spinner (unless `spinner()` says a saved copy is already on screen), runs `fetch`, and turns a
 * failure into its human sentence (`message`, the buyer's sentences by default). The page calls `load()` itself
 * once its own state exists (and again for "Try again"); `loadingAtFirst` is the spinner before that call.
 */
export function usePageLoad(
  fetch: () => Promise<unknown>,
  opts: { spinner?: () => boolean; message?: (e: unknown) => string; loadingAtFirst?: boolean } = {},
) {
  const loading = ref(opts.loadingAtFirst ?? true);
  const error = ref('');
  const message = opts.message ?? messageOf;

  async function load() {
    loading.value = opts.spinner ? opts.spinner() : true;
    error.value = '';
    try {
      await fetch();
    } catch (e) {
      error.value = message(e);
    } finally {
      loading.value = false;
    }
  }

  return { loading, error, load };
}
