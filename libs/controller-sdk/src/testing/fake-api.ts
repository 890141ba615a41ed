// The one in-memory fake of the API lives in `@tugboat/api-client/testing`, held to the real API by
// its contract suite; the SDK's testing entry hands it on to controller authors.
export { createFakeApi, FAKE_TOKEN } from '@tugboat/api-client/testing';
export type { FakeApi, FakeApiOptions } from '@tugboat/api-client/testing';
