import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The proxy serves `vite` (dev) against a server run by hand; builds ignore it.
export default defineConfig({
  base: '/',
  plugins: [react()],
  server: { proxy: { '/api': 'http://127.0.0.1:32190' } },
  build: { outDir: 'dist', emptyOutDir: true },
});
