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
  // The CommonJS packages inside (pino, yaml) call require() for node's own modules.
  banner: { js: "import { createRequire as __devstatusRequire } from 'node:module'; const require = __devstatusRequire(import.meta.url);" },
});
