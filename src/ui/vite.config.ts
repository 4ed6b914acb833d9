/**
 * Builds the web app into dist/ui (beside the compiled server and gateway). `base: './'` keeps asset URLs relative,
 * so one build is served under any mount: the server at /ui/, the gateway at /dashboard/ (each injects a matching
 * <base href> into index.html, see src/lib/http/static-files.ts).
 */
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = decodeURIComponent(new URL('.', import.meta.url).pathname);

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: `${here}../../dist/ui`,
    emptyOutDir: true,
    target: 'es2022',
    // One small app: a single JS and CSS file load faster on first paint than a chunk waterfall.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
