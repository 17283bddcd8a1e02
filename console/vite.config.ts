/**
 * The ops console's build: React + TypeScript by Vite into console/dist, served by the Cloud Run
 * service at `/` (stateful/api/console-assets.ts). The console imports pure modules of shared/
 * (schemas, order tickets) so that its validation is the API's own.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // React DOM and zod (the shared schemas the forms validate with) make most of the main chunk.
    chunkSizeWarningLimit: 450,
  },
  server: {
    proxy: { '/api': 'http://127.0.0.1:8080', '/readyz': 'http://127.0.0.1:8080' },
  },
});
