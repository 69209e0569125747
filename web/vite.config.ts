import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dashboard is built into web/dist and served by the receiver; nothing is loaded from a CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  // Preact through Vite's own JSX transform (automatic runtime): no Babel, no extra plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Keep the page CSP-clean: no inline scripts or data: modules.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npx vite web` for working on the page against a receiver on the default port.
    proxy: { '/api': 'http://127.0.0.1:9528' },
  },
});
