// Bundles the agent commands (dist/cli/agent.js and everything it imports: pino, yaml, TypeBox,
// the protocol and probe modules) into one file, dist/cli/agent.bundle.js, which `devstatus
// agent` / `devstatus report` load. Loading ~600 small module files costs the process about
// 15 MB of memory more than the same code in one file; the agent's target is 60 MiB in all.
import { build } from 'esbuild';

await build({
  entryPoints: ['dist/cli/agent.js'],
  outfile: 'dist/cli/agent.bundle.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  logLevel: 'warning',
  // V8 keeps a script's source for as long as its functions live: minified, the bundle is less
  // than half the size, and without comments it is all ASCII (one non-ASCII character anywhere
  // makes V8 hold the whole source as two bytes a character). Names kept: they are in errors.
  minify: true,
  keepNames: true,
  legalComments: 'none',
  charset: 'ascii',
  // Only for --log-format pretty (a person at a terminal): loaded from node_modules when asked
  // for, so the agent's usual JSON logging neither parses nor keeps its ~100 KB of code.
  external: ['pino-pretty'],
  // The CommonJS packages inside (pino, yaml) call require() for node's own modules.
  banner: { js: "import { createRequire as __devstatusRequire } from 'node:module'; const require = __devstatusRequire(import.meta.url);" },
});
