/** `node .bench-dist/test/bench/leaver-only.js [csv|ldap|webhook]`: the leaver propagation figures alone. */
import { leaverBench, type PropagationResult } from './leaver-bench.js';

const paths = (process.argv.slice(2) as PropagationResult['path'][]).filter((p) => ['csv', 'ldap', 'webhook'].includes(p));
for (const path of paths.length > 0 ? paths : (['csv', 'ldap', 'webhook'] as const)) console.log(JSON.stringify(await leaverBench(path)));
