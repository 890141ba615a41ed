import { createFakeApi, FAKE_TOKEN } from './fake-api.js';
import { describeApiContract } from './api-contract.js';

// The same contract runs against the real API in services/api/src/api-contract.test.ts.
describeApiContract('the in-memory fake', {
  async start() {
    const fake = createFakeApi();
    return { baseUrl: 'http://fake-api.invalid', adminToken: FAKE_TOKEN, fetch: fake.fetch, close: async () => undefined };
  },
});
