/** EKS on the wire (REST-JSON): each operation reads its path, query and body and calls the simulator. */
import { AwsError } from '../aws-error.js';
import type { AwsOperation, AwsOperationContext } from '../aws-operation.js';
import type { EksSimulator, PageRequest } from './eks-simulator.js';

export function eksOperations(eks: EksSimulator): AwsOperation[] {
  const op = (operation: string, method: string, path: string, handler: (ctx: AwsOperationContext) => unknown): AwsOperation => ({
    service: 'eks',
    protocol: 'rest-json',
    operation,
    http: { method, path },
    handler,
  });
  return [
    op('CreateCluster', 'POST', '/clusters', (ctx) => ({ cluster: eks.createCluster(ctx.region, ctx.input) })),
    op('DescribeCluster', 'GET', '/clusters/{name}', (ctx) => ({ cluster: eks.describeCluster(ctx.region, param(ctx, 'name')) })),
    op('ListClusters', 'GET', '/clusters', (ctx) => eks.listClusters(ctx.region, pageOf(ctx))),
    op('DeleteCluster', 'DELETE', '/clusters/{name}', (ctx) => ({ cluster: eks.deleteCluster(ctx.region, param(ctx, 'name')) })),
    op('CreateNodegroup', 'POST', '/clusters/{clusterName}/node-groups', (ctx) => ({
      nodegroup: eks.createNodegroup(ctx.region, param(ctx, 'clusterName'), ctx.input),
    })),
    op('DescribeNodegroup', 'GET', '/clusters/{clusterName}/node-groups/{nodegroupName}', (ctx) => ({
      nodegroup: eks.describeNodegroup(ctx.region, param(ctx, 'clusterName'), param(ctx, 'nodegroupName')),
    })),
    op('ListNodegroups', 'GET', '/clusters/{clusterName}/node-groups', (ctx) =>
      eks.listNodegroups(ctx.region, param(ctx, 'clusterName'), pageOf(ctx)),
    ),
    op('DeleteNodegroup', 'DELETE', '/clusters/{clusterName}/node-groups/{nodegroupName}', (ctx) => ({
      nodegroup: eks.deleteNodegroup(ctx.region, param(ctx, 'clusterName'), param(ctx, 'nodegroupName')),
    })),
    op('UpdateClusterVersion', 'POST', '/clusters/{name}/updates', (ctx) => ({
      update: eks.updateClusterVersion(ctx.region, param(ctx, 'name'), ctx.input),
    })),
    op('UpdateNodegroupConfig', 'POST', '/clusters/{clusterName}/node-groups/{nodegroupName}/update-config', (ctx) => ({
      update: eks.updateNodegroupConfig(ctx.region, param(ctx, 'clusterName'), param(ctx, 'nodegroupName'), ctx.input),
    })),
    op('UpdateNodegroupVersion', 'POST', '/clusters/{clusterName}/node-groups/{nodegroupName}/update-version', (ctx) => ({
      update: eks.updateNodegroupVersion(ctx.region, param(ctx, 'clusterName'), param(ctx, 'nodegroupName'), ctx.input),
    })),
    op('DescribeUpdate', 'GET', '/clusters/{name}/updates/{updateId}', (ctx) => ({
      ...noAddons(ctx),
      update: eks.describeUpdate(ctx.region, param(ctx, 'name'), param(ctx, 'updateId'), ctx.query.get('nodegroupName') ?? undefined),
    })),
    op('ListUpdates', 'GET', '/clusters/{name}/updates', (ctx) => ({
      ...noAddons(ctx),
      ...eks.listUpdates(ctx.region, param(ctx, 'name'), ctx.query.get('nodegroupName') ?? undefined, pageOf(ctx)),
    })),
    op('TagResource', 'POST', '/tags/{resourceArn}', (ctx) => {
      eks.tagResource(ctx.region, param(ctx, 'resourceArn'), ctx.input.tags);
      return {};
    }),
    op('UntagResource', 'DELETE', '/tags/{resourceArn}', (ctx) => {
      eks.untagResource(ctx.region, param(ctx, 'resourceArn'), ctx.query.getAll('tagKeys'));
      return {};
    }),
    op('ListTagsForResource', 'GET', '/tags/{resourceArn}', (ctx) => ({
      tags: eks.listTagsForResource(ctx.region, param(ctx, 'resourceArn')),
    })),
  ];
}

function param(ctx: AwsOperationContext, name: string): string {
  const value = ctx.params[name];
  if (value === undefined || value === '') throw new AwsError('InvalidParameterException', `${name}: is required in the path.`);
  return value;
}

/** The sandbox has no add-ons or capabilities, so none of their updates exist. */
function noAddons(ctx: AwsOperationContext): Record<string, never> {
  for (const name of ['addonName', 'capabilityName']) {
    const value = ctx.query.get(name);
    if (value !== null) throw new AwsError('ResourceNotFoundException', `${name}: no ${name.replace('Name', '')} named ${value} exists (the sandbox simulates none).`, { status: 404 });
  }
  return {};
}

function pageOf(ctx: AwsOperationContext): PageRequest {
  const raw = ctx.query.get('maxResults');
  const nextToken = ctx.query.get('nextToken') ?? undefined;
  if (raw === null) return nextToken === undefined ? {} : { nextToken };
  const maxResults = Number(raw);
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 100) {
    throw new AwsError('InvalidParameterException', `maxResults: must be an integer from 1 to 100, got '${raw}'.`);
  }
  return { maxResults, ...(nextToken !== undefined ? { nextToken } : {}) };
}
