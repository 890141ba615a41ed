// Guards the workspace wiring itself: packages resolve to their sources under jest (ESM mode).
import { errorFromBody, NotFoundError, streamNames } from '@tugboat/resource-model';

test('workspace packages resolve through the @tugboat/source condition', () => {
  expect(errorFromBody(404, { error: { code: 'NotFound', message: 'gone', details: [] } })).toBeInstanceOf(NotFoundError);
  expect(streamNames('t1').eventsStream).toBe('T1_EVENTS');
});
