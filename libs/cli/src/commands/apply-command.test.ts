import type { ApplyItemResult } from '@tugboat/resource-model';
import { terminalStyle } from '../terminal-style.js';
import { formatPlan } from './apply-command.js';

describe('formatPlan', () => {
  it('says a migrating workload goes once its replacement is Ready, and a database once its workload is gone', () => {
    const owned = { project: 'team-a', owner: 'Application/shop', action: 'deleted' as const };
    const results: ApplyItemResult[] = [
      { ...owned, kind: 'WorkloadInstance', name: 'shop-web-dev1', component: 'web', cluster: 'dev1', waitsFor: ['WorkloadInstance/shop-web-dev3'], migratingTo: 'shop-web-dev3' },
      { ...owned, kind: 'DatabaseInstance', name: 'shop-db-dev1', component: 'db', cluster: 'dev1', waitsFor: ['WorkloadInstance/shop-web-dev1'] },
    ];
    expect(formatPlan(results, [], terminalStyle(false)).split('\n').slice(0, 2)).toEqual([
      '  - WorkloadInstance/shop-web-dev1 (web on dev1) would be deleted once its replacement shop-web-dev3 is Ready (migrating)',
      '  - DatabaseInstance/shop-db-dev1 (db on dev1) would be deleted once WorkloadInstance/shop-web-dev1 is gone',
    ]);
  });
});
