// Vite bundles imported stylesheets; they export nothing to TypeScript.
declare module '*.css';
