import { createApp } from 'vue';
import { createPinia } from 'pinia';
import { Quasar, Notify, Dialog } from 'quasar';
import iconSet from 'quasar/icon-set/svg-material-icons';
import 'quasar/dist/quasar.css';
import './app.css';
import App from './App.vue';
import { router } from './router';

const app = createApp(App);
app.use(Quasar, {
  plugins: { Notify, Dialog },
  iconSet,
  config: {
    brand: {
      primary: '#1a3f8f',
      secondary: '#0f6e6e',
      accent: '#8a2be2',
      positive: '#1b7f3b',
      negative: '#b3261e',
      info: '#1f5f99',
      warning: '#8a5a00',
      dark: '#1d1d1d',
    },
    notify: { position: 'top', timeout: 5000 },
  },
});
app.use(createPinia());
app.use(router);
app.mount('#app');
