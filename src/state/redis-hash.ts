/**
 * Deleting hash fields only while they hold what was read: a cycle that read a hold or a rejection,
 * decided the source overtook it and forgets it must not delete one that an operator set again on
 * another machine meanwhile. One Lua script, so the compare and the delete are one step in Redis.
 */
import type { Redis } from 'ioredis';

const SCRIPT = `
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n`;

/** Deletes each [field, value] of hash `key` whose value is still `value`; how many went. */
export async function hdelIfUnchanged(redis: Redis, key: string, fields: readonly (readonly [string, string])[]): Promise<number> {
  if (fields.length === 0) return 0;
  return Number(await redis.eval(SCRIPT, 1, key, ...fields.flat()));
}
