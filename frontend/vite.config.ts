// Vite builds the app into frontend/dist, which the gateway serves at / (services/gateway/src/web/frontend.ts).
// @quasar/vite-plugin (not @quasar/app-vite): a plain Vite config that the npm workspace, the root build and
// the gateway's static serving all understand, without Quasar's CLI and its own project layout; it gives
// Quasar's tree-shaken components and directives, which is all this app uses.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import { quasar, transformAssetUrls } from '@quasar/vite-plugin';
import { VitePWA } from 'vite-plugin-pwa';

export default defineConfig({
  resolve: { alias: { src: fileURLToPath(new URL('./src', import.meta.url)) } },
  plugins: [
    vue({ template: { transformAssetUrls } }),
    quasar(),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: 'script', // a file, not an inline script: the gateway's CSP allows scripts from 'self' only
      includeAssets: ['icon.svg', 'icon-192.png', 'icon-512.png'],
      manifest: {
        name: 'EventTickets',
        short_name: 'Tickets',
        description: 'Find events, pick your seats and keep your tickets on your phone.',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#ffffff',
        theme_color: '#1a3f8f',
        icons: [
          { src: '/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
        ],
      },
      workbox: {
        // The app shell offline; the API is never answered from the shell.
        navigateFallback: '/index.html',
        navigateFallbackDenylist: [/^\/api\//, /^\/docs/, /^\/metrics/, /^\/dev\//],
        globPatterns: ['**/*.{js,css,html,svg,png,woff2}'],
        // Tickets and their QR codes stay readable offline (the app also keeps them in localStorage).
        runtimeCaching: [
          {
            urlPattern: ({ url }) => url.pathname.startsWith('/api/tickets'),
            handler: 'NetworkFirst',
            options: { cacheName: 'tickets', networkTimeoutSeconds: 4, expiration: { maxEntries: 200 } },
          },
        ],
      },
    }),
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 900,
    // base36 hashes (no '-' or '_'): the gateway recognises content-hashed files by name and serves them
    // immutable (services/gateway/src/web/frontend.ts); a base64 hash with a '-' would only be revalidated
    rolldownOptions: { output: { hashCharacters: 'base36' } },
  },
  server: { proxy: { '/api': { target: process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080', changeOrigin: false } } },
});
