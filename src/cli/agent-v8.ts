// V8 settings for the long-running `devstatus agent` (target: under 60 MiB with 64 sub-devices),
// set from inside the process because a box runs `devstatus agent` (or `node main.js agent`)
// with no node flags, and a second process to re-exec with flags would cost another ~40 MiB.
// Measured with bench/agent.ts (64 RTSP channels): peak RSS 62-63 MiB -> ~52 MiB.
//  - No optimizing or baseline compiler: the agent's work (64 probes and one POST every few
//    seconds) is far too little to need them, and compiling touches ~5 MB more of the node
//    binary's code and fills code space. The interpreter runs a round in the same time.
//  - The young generation stays at its initial size (1 MiB semi-spaces) instead of growing
//    to 8-16 MiB when the start-up (loading the bundle, first rounds) keeps much alive: more
//    frequent but small scavenges, ~3 MiB less at the peak.
// These flags are read by V8 as it goes (tiering, new-space growth), so setting them once
// the process runs takes effect for everything after.
import { setFlagsFromString } from 'node:v8';

export const AGENT_V8_FLAGS = ['--no-opt', '--no-sparkplug', '--no-maglev', '--semi-space-growth-factor=1'] as const;

export function leanV8ForAgent(): void {
  for (const flag of AGENT_V8_FLAGS) setFlagsFromString(flag);
}

// Imported first by main.ts, so that for `devstatus agent` this runs before commander and the
// rest of the CLI load (the young generation grows during that start-up already). The agent
// command's action calls leanV8ForAgent() again for any other form of its command line.
if (process.argv[2] === 'agent') leanV8ForAgent();
