// `@tugboat/api-client/testing`: the in-memory API for unit tests, and the contract that holds it
// (and the real API) to the same behaviour.
export { createFakeApi, FAKE_TOKEN } from './testing/fake-api.js';
export type { FakeApi, FakeApiOptions } from './testing/fake-api.js';
export { describeApiContract } from './testing/api-contract.js';
export type { ApiContractTarget, ApiContractSetup } from './testing/api-contract.js';
