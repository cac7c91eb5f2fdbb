// Who is signed in: sign up, sign in, sign out, the profile; the token refresh itself is in api/client.ts.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { api, refreshSession, unwrap } from 'src/api/client';
import { getSession, onSessionChange, setSession, updateUser } from 'src/api/session';
import type { User } from 'src/api/types';
import type { components } from 'src/api/schema';

export const useAuthStore = defineStore('auth', () => {
  const user = ref<User | undefined>(getSession()?.user);
  onSessionChange((s) => {
    user.value = s?.user;
  });
  const signedIn = computed(() => user.value !== undefined);
  const isOrganizer = computed(() => user.value?.role === 'organizer' || user.value?.role === 'admin');

  async function signIn(email: string, password: string): Promise<void> {
    setSession(await unwrap(api.POST('/api/auth/login', { body: { email, password } })));
  }

  async function signUp(input: components['schemas']['users.RegisterRequest']): Promise<void> {
    await unwrap(api.POST('/api/auth/register', { body: input }));
    await signIn(input.email, input.password);
  }

  async function signOut(): Promise<void> {
    const s = getSession();
    if (s) {
      // Best effort: the session ends on this device whatever the server says.
      await api.POST('/api/auth/logout', { body: { refreshToken: s.refreshToken } }).catch(() => undefined);
    }
    setSession(undefined);
  }

  /** Re-reads the profile (and proves the stored session still works). */
  async function loadMe(): Promise<User | undefined> {
    if (!getSession()) return undefined;
    const me = await unwrap(api.GET('/api/me'));
    updateUser(me);
    return me;
  }

  async function updateProfile(patch: components['schemas']['users.ProfilePatch']): Promise<User> {
    const me = await unwrap(api.PATCH('/api/me', { body: patch }));
    updateUser(me);
    return me;
  }

  return { user, signedIn, isOrganizer, signIn, signUp, signOut, loadMe, updateProfile, refresh: refreshSession };
});
