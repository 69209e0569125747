// The V8 settings `devstatus agent` applies to itself (src/cli/agent-v8.ts): every flag must be
// one this node's V8 knows, or V8 prints "unrecognized flag" on the agent's stderr and the
// memory it was meant to save is spent again. The memory itself is measured by bench/agent.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { AGENT_V8_FLAGS } from '../src/cli/agent-v8.js';

describe('agent V8 flags', () => {
  it('are all known to the V8 of this node', () => {
    const options = spawnSync(process.execPath, ['--v8-options'], { encoding: 'utf8' }).stdout;
    for (const flag of AGENT_V8_FLAGS) {
      const name = flag.replace(/^--(no-)?/, '').split('=')[0]!;
      const known = new RegExp(`^\\s+--${name}\\s`, 'm').test(options) || new RegExp(`^\\s+--${name.replace(/-/g, '_')}\\s`, 'm').test(options);
      assert.ok(known, `${flag}: node ${process.version} has no V8 flag --${name}`);
    }
  });

  it('are taken by V8 without a word on stderr', () => {
    const script = `const { setFlagsFromString } = require('node:v8'); for (const f of ${JSON.stringify(AGENT_V8_FLAGS)}) setFlagsFromString(f); console.log('ok');`;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0);
    assert.equal(run.stderr, '');
    assert.equal(run.stdout.trim(), 'ok');
  });
});
