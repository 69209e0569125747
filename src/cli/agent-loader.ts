// Loads the agent commands only when one runs, from the one-file bundle the build makes
// (scripts/bundle-agent.mjs: far less memory than the same code as ~600 module files), or
// from the modules themselves when there is no bundle (running from a partial build).
type AgentCommands = typeof import('./agent.js');

export async function loadAgentCommands(): Promise<AgentCommands> {
  const bundle = new URL('./agent.bundle.js', import.meta.url).href;
  try {
    return (await import(bundle)) as AgentCommands;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' || !String((err as Error).message).includes('agent.bundle.js')) throw err;
    return import('./agent.js');
  }
}
