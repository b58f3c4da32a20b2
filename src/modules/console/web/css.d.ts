/** Stylesheets are bundled by esbuild (scripts/build-console.ts). */
declare module '*.css';
