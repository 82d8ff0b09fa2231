import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig } from 'tsup';

// Two builds. The library (dist/index.js) imports its dependencies as usual. The CLI
// (dist/cli.js, what `npx mcp-ssh-server` and MCP clients start) is one bundle with its
// dependencies inside: loading the MCP SDK, zod and our packages as hundreds of separate ES
// modules took ~110 ms of a ~340 ms start (bench/start.bench.test.ts). `pnpm build` empties dist
// first (clean here would race between the two builds).
export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: { entry: 'src/index.ts' },
    sourcemap: true,
    target: 'node20',
  },
  {
    entry: ['src/cli.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    platform: 'node',
    // Everything inside but ssh2 (a dependency of this package for that reason): its add-on is
    // built for the Node.js that installs it, so it must be loaded from its own install.
    external: ['ssh2'],
    noExternal: [/^(?!ssh2$)/],
    // Bundled CommonJS code (ajv in the SDK, @xterm/headless) calls require().
    banner: { js: "import { createRequire as __mcpSshCreateRequire } from 'node:module'; const require = __mcpSshCreateRequire(import.meta.url);" },
  },
  {
    // The dashboard's page (--dashboard): one script and one stylesheet, plus asciinema-player's
    // own prebuilt bundle, shipped in dist/ui.
    entry: { app: 'src/ui/app.ts' },
    outDir: 'dist/ui',
    format: ['iife'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    tsconfig: 'src/ui/tsconfig.json',
    publicDir: 'src/ui/public',
    async onSuccess() {
      const player = dirname(createRequire(import.meta.url).resolve('asciinema-player/dist/bundle/asciinema-player.min.js'));
      mkdirSync('dist/ui', { recursive: true });
      copyFileSync(join(player, 'asciinema-player.min.js'), 'dist/ui/asciinema-player.min.js');
      copyFileSync(join(player, 'asciinema-player.css'), 'dist/ui/asciinema-player.css');
    },
  },
]);
