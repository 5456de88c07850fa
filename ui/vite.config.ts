import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

// Tauri loads the dev server from a fixed port (devUrl) and the built files from dist/ with relative
// paths. Vitest reuses this file; its tests resolve Svelte's browser build so runes behave as in the app.
export default defineConfig({
  plugins: [svelte()],
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  preview: { host: '127.0.0.1' },
  build: { outDir: 'dist', target: 'es2022', emptyOutDir: true },
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
