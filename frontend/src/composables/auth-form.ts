import { ref } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import { messageOf } from 'src/api/problems';
import { safeNext } from 'src/utils/navigation';

/**
 * The submit of the sign-in and sign-up forms: runs `action` (the auth store call), then goes to the page the user
 * came for (`?next=`, if safe); its problem as a sentence in `error` otherwise.
 */
export function useAuthForm(action: () => Promise<unknown>) {
  const route = useRoute();
  const router = useRouter();
  const busy = ref(false);
  const error = ref('');

  async function submit() {
    busy.value = true;
    error.value = '';
    try {
      await action();
      await router.replace(safeNext(route.query.next));
    } catch (e) {
      error.value = messageOf(e);
    } finally {
      busy.value = false;
    }
  }

  return { busy, error, submit };
}
