/**
 * Compile-time checks of `defineController`'s typing (run by `pnpm build`, which type-checks test
 * files too; `@ts-expect-error` fails the build when a line that must not compile does). The jest
 * part only makes sure the declarations are built as written.
 */
import type { Resource, ResourceStatus } from '@tugboat/resource-model';
import type { ControllerDeclarations, RunnableController } from './controller-parts.js';
import { defineController } from './define-controller.js';

interface BucketSpec {
  region: string;
  versioning: boolean;
}
interface BucketStatus extends ResourceStatus {
  outputs?: { arn: string };
  bytes?: number;
}
/** A type alias with no index signature: only the fields it declares may be written. */
type StrictStatus = {
  phase?: ResourceStatus['phase'];
  outputs?: { url: string };
  replicas?: number;
};

describe('defineController typing', () => {
  it('types obj.spec and status writes from the type arguments', () => {
    const typed = defineController<BucketSpec, BucketStatus>({
      name: 'bucket-controller',
      owns: 'Bucket',
      reconcile(ctx, obj) {
        const region: string = obj.spec.region;
        // @ts-expect-error the spec is typed: no such field
        void obj.spec.size;
        ctx.setStatus({ outputs: { arn: `arn:${region}` }, fields: { bytes: 1 } });
        // @ts-expect-error outputs are typed
        ctx.setStatus({ outputs: { arn: 1 } });
        // @ts-expect-error a declared field has its type
        ctx.setStatus({ fields: { bytes: 'many' } });
        const bytes: number | undefined = obj.status.bytes;
        void bytes;
      },
    });
    expect(typed.owns).toBe('Bucket');
  });

  it('refuses undeclared status fields when the status has no index signature', () => {
    const strict = defineController<{ image: string }, StrictStatus>({
      name: 'app-controller',
      owns: 'App',
      reconcile(ctx, obj) {
        ctx.setStatus({ outputs: { url: obj.spec.image }, fields: { replicas: 2 } });
        // @ts-expect-error not a field of StrictStatus
        ctx.setStatus({ fields: { replicaz: 2 } });
      },
    });
    expect(strict.name).toBe('app-controller');
  });

  it('infers the spec from an annotated parameter, and keeps the untyped default', () => {
    const inferred = defineController({
      name: 'widget-controller',
      owns: 'Widget',
      reconcile(ctx, obj: Resource<{ size: number }>) {
        ctx.setStatus({ outputs: { size: obj.spec.size + 1 }, fields: { anything: true } });
      },
    });
    const untyped = defineController({
      name: 'gadget-controller',
      owns: 'Gadget',
      reconcile(ctx, obj) {
        const value: unknown = obj.spec['size'];
        ctx.setStatus({ outputs: { value }, fields: { whatever: 1 } });
      },
    });
    expect([inferred.owns, untyped.owns]).toEqual(['Widget', 'Gadget']);
  });

  it('lets declarations of different spec and status types form one controller, each keeping its own', () => {
    const buckets = defineController<BucketSpec, BucketStatus>({
      name: 'storage-controller',
      owns: 'Bucket',
      reconcile: (ctx, obj) => ctx.setStatus({ outputs: { arn: obj.spec.region } }),
    });
    const apps = defineController<{ image: string }, StrictStatus>({
      name: 'storage-controller',
      owns: 'App',
      reconcile: (ctx, obj) => ctx.setStatus({ outputs: { url: obj.spec.image } }),
    });
    const both: ControllerDeclarations = [buckets, apps];
    const runnable: RunnableController[] = [both, buckets];
    // @ts-expect-error a runner takes declarations, not specs
    const notDeclared: RunnableController = [{ name: 'storage-controller', owns: 'Bucket' }];
    void notDeclared;
    expect(runnable.map((r) => (Array.isArray(r) ? r.length : 1))).toEqual([2, 1]);
  });
});
