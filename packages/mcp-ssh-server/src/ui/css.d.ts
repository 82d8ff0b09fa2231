// Stylesheets are bundled by esbuild (tsup) into app.global.css.
declare module '*.css';
