import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalStack } from './local-stack.js';

describe('createLocalStack', () => {
  it('says how to install nats-server when it is missing, before starting anything', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'tug-up-'));
    try {
      const stack = createLocalStack({
        repoRoot: stateDir,
        stateDir,
        apiPort: 7070,
        env: { PATH: '' },
        executableDirs: [],
        output: { write: () => {} },
        fromSource: true,
      });
      await expect(stack.start()).rejects.toThrow('nats-server is not installed: install it (`apt-get install nats-server`');
      expect(stack.processes).toHaveLength(0);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });
});
