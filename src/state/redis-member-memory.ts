/**
 * Distributed mode's MemberMemory (member-memory.ts): per target, a hash of each remembered group's
 * verification time, a hash of the time of the last write recorded since, a set of members per
 * group, and the set of covered users (redis-keys.ts). Workers record their writes as they complete
 * them, from any machine; each step that reads before it writes is one Lua script, so a write a
 * worker records and a cycle's read of the same group cannot interleave. The changed hash holds
 * the time of the last write to any group, remembered or not (member-memory.ts says why); times are
 * the writer's and the reader's clocks, ISO strings of one format, compared as strings.
 */
import type { Redis } from 'ioredis';
import { StateError } from '../errors.js';
import { FORGET_FIX, type MemberChange, type MemberMemory, type MemberRead, type TargetMembers } from './member-memory.js';
import { redisKeys, type RedisKeys } from './redis-keys.js';

// KEYS: verified hash, changed hash, the group's set. ARGV: group, time, number of adds, adds..., removes...
// A group not remembered gets the time only.
const CHANGED = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = tonumber(ARGV[3])
for i = 4, 3 + n do redis.call('SADD', KEYS[3], ARGV[i]) end
for i = 4 + n, #ARGV do redis.call('SREM', KEYS[3], ARGV[i]) end
return 1`;

// A full verification. KEYS: verified, changed, the group's set. ARGV: group, readAt, members...
// ISO times of one format compare as strings.
const VERIFIED = `
local c = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('HDEL', KEYS[2], ARGV[1])
if c and c >= ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
for i = 3, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

// A remembered group asked about the uncovered users (their answers replace what was remembered of
// them), then kept to the covered ones.
// KEYS: verified, changed, the group's set, the covered users. ARGV: group, readAt, number asked, asked..., members found...
const TOPPED = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local c = redis.call('HGET', KEYS[2], ARGV[1])
local n = tonumber(ARGV[3])
if n > 0 and c and c >= ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[3])
  return 0
end
for i = 4, 3 + n do redis.call('SREM', KEYS[3], ARGV[i]) end
for i = 4 + n, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
redis.call('SINTERSTORE', KEYS[3], KEYS[3], KEYS[4])
return 1`;

export class RedisMemberMemory implements MemberMemory {
  private readonly keys: RedisKeys;

  /** `redis` stays owned by the caller. */
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = redisKeys(prefix);
  }

  async read(target: string): Promise<TargetMembers> {
    const [verified, changed, users] = await Promise.all([
      this.redis.hgetall(this.keys.memberVerified(target)),
      this.redis.hgetall(this.keys.memberChanged(target)),
      this.redis.smembers(this.keys.memberUsers(target)),
    ]);
    const ids = Object.keys(verified);
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.smembers(this.keys.members(target, id));
    const sets = ids.length > 0 ? ((await pipeline.exec()) ?? []) : [];
    const groups: TargetMembers['groups'] = new Map();
    ids.forEach((id, i) => {
      const [error, members] = sets[i] ?? [new Error('no answer'), null];
      if (error) throw error;
      const at = verified[id]!;
      const since = changed[id];
      const where = `${this.keys.memberVerified(target)} (${JSON.stringify(id)})`;
      if (Number.isNaN(Date.parse(at)) || (since !== undefined && Number.isNaN(Date.parse(since)))) throw new StateError(`${where} is damaged (not an ISO time): ${FORGET_FIX}`);
      groups.set(id, { verifiedAt: at, members: members as string[], ...(since !== undefined ? { changedAt: since } : {}) });
    });
    return { groups, users: new Set(users) };
  }

  async recordRead(target: string, read: MemberRead): Promise<void> {
    const k = this.keys;
    const users = k.memberUsers(target);
    const replace = this.redis.multi().del(users);
    if (read.users.length > 0) replace.sadd(users, ...read.users);
    await replace.exec();
    const managed = new Set(read.groups);
    const known = new Set([...(await this.redis.hkeys(k.memberVerified(target))), ...(await this.redis.hkeys(k.memberChanged(target)))]);
    for (const id of known) {
      if (managed.has(id)) continue;
      await this.redis.multi().hdel(k.memberVerified(target), id).hdel(k.memberChanged(target), id).del(k.members(target, id)).exec();
    }
    for (const [id, members] of read.verified) {
      await this.redis.eval(VERIFIED, 3, k.memberVerified(target), k.memberChanged(target), k.members(target, id), id, read.readAt, ...members);
    }
    for (const id of read.groups) {
      if (read.verified.has(id)) continue;
      const found = read.topped.get(id) ?? [];
      await this.redis.eval(TOPPED, 4, k.memberVerified(target), k.memberChanged(target), k.members(target, id), users, id, read.readAt, String(read.asked.length), ...read.asked, ...found);
    }
  }

  async changed(target: string, group: string, change: MemberChange): Promise<void> {
    const k = this.keys;
    await this.redis.eval(CHANGED, 3, k.memberVerified(target), k.memberChanged(target), k.members(target, group), group, new Date().toISOString(), String(change.add.length), ...change.add, ...change.remove);
  }

  async replaced(target: string, group: string, members: readonly string[], at: string): Promise<void> {
    const k = this.keys;
    const set = k.members(target, group);
    const tx = this.redis.multi().del(set);
    if (members.length > 0) tx.sadd(set, ...members);
    await tx.hset(k.memberVerified(target), group, at).hset(k.memberChanged(target), group, at).exec();
  }

  async forgetGroup(target: string, group: string): Promise<void> {
    const k = this.keys;
    await this.redis.multi().hdel(k.memberVerified(target), group).hset(k.memberChanged(target), group, new Date().toISOString()).del(k.members(target, group)).exec();
  }

  async created(target: string, user: string): Promise<void> {
    await this.redis.sadd(this.keys.memberUsers(target), user);
  }

  async dropUsers(target: string, users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    const k = this.keys;
    const tx = this.redis.multi().srem(k.memberUsers(target), ...users);
    for (const id of await this.redis.hkeys(k.memberVerified(target))) tx.srem(k.members(target, id), ...users);
    await tx.exec();
  }
}
