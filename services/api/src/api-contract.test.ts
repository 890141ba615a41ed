import { describeApiContract } from '@tugboat/api-client/testing';
import { ADMIN_TOKEN, startTestApi } from './api-test-harness.js';

// The contract the in-memory fake (libs/api-client/src/testing/fake-api.ts) is held to, run
// against the real API: its own Postgres schema and NATS stream.
describeApiContract('the real API (Postgres + NATS)', {
  async start() {
    const api = await startTestApi();
    return { baseUrl: api.url, adminToken: ADMIN_TOKEN, close: () => api.close() };
  },
});
