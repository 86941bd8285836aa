/*
 * daemon/cluster_scripts.h - the scripts the farm's store runs (Redis Lua,
 * doc/cluster.md): each one atomic, all on keys of one hash tag.
 *
 *   {ftplimit}:total        hash: field -> the farm's count
 *   {ftplimit}:node:NAME    hash: field -> NAME's part of it
 *   {ftplimit}:nodes        sorted set: NAME -> its lease's end (ms)
 *   {ftplimit}:rate:FIELD   sorted set: a connection-rate window
 *   {ftplimit}:bans         hash: ban -> its end and message
 * A field "P..." (a user's sessions from one host) also keeps the total's
 * "D..." (the user's distinct hosts) as it goes to and from 0.
 */
#ifndef FL_DAEMON_CLUSTER_SCRIPTS_H
#define FL_DAEMON_CLUSTER_SCRIPTS_H

/* What every script starts with: the store's clock, and the total's
 * changes, which keep the distinct hosts of each user. */
#define LUA_PRELUDE                                                                \
    "local t = redis.call('TIME')\n"                                               \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"      \
    "local function dfield(f)\n"                                                   \
    "  local a = string.find(f, '|', 2, true)\n"                                   \
    "  local b = string.find(f, '|', a + 1, true)\n"                               \
    "  local len = tonumber(string.sub(f, a + 1, b - 1))\n"                        \
    "  return 'D' .. string.sub(f, 2, b + len)\n"                                  \
    "end\n"                                                                        \
    "local function add(total, f, n)\n"                                            \
    "  local v = redis.call('HINCRBY', total, f, n)\n"                             \
    "  local old = v - n\n"                                                        \
    "  if v <= 0 then redis.call('HDEL', total, f) end\n"                          \
    "  if string.byte(f, 1) == 80 and (old > 0) ~= (v > 0) then\n"                 \
    "    local d = dfield(f)\n"                                                    \
    "    if redis.call('HINCRBY', total, d, v > 0 and 1 or -1) <= 0 then\n"        \
    "      redis.call('HDEL', total, d)\n"                                         \
    "    end\n"                                                                    \
    "  end\n"                                                                      \
    "end\n"

/* KEYS: total, this node's hash, nodes, then a window per rate claim.
 * ARGV: node, force (1: DryRun, count even past a limit), sequence, the
 * number of claims, then op, field, max, interval (ms) for each.
 * Returns {-1}: this node holds no lease (declare, then ask again); {0}:
 * counted; {i, count}: claim i exceeded (count with this session),
 * nothing counted; {i, count, 1} under force: counted all the same. */
#define LUA_DECIDE                                                                 \
    LUA_PRELUDE                                                                    \
    "if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {-1} end\n"         \
    "local n = tonumber(ARGV[4])\n"                                                \
    "local hit, count, r = 0, 0, 4\n"                                              \
    "local windows = {}\n"                                                         \
    "for i = 1, n do\n"                                                            \
    "  local b = 4 + (i - 1) * 4\n"                                                \
    "  local op, f, max = ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3])\n"       \
    "  if op == 'r' then\n"                                                        \
    "    windows[i] = KEYS[r]; r = r + 1\n"                                        \
    "    if hit == 0 then\n"                                                       \
    "      redis.call('ZREMRANGEBYSCORE', windows[i], '-inf',\n"                   \
    "                 now - tonumber(ARGV[b + 4]))\n"                              \
    "      local c = redis.call('ZCARD', windows[i])\n"                            \
    "      if c + 1 > max then hit, count = i, c + 1 end\n"                        \
    "    end\n"                                                                    \
    "  elseif hit == 0 and max >= 0 then\n"                                        \
    "    local c = tonumber(redis.call('HGET', KEYS[1], f) or '0')\n"              \
    "    if op == 'x' then\n"                                                      \
    "      local d = tonumber(redis.call('HGET', KEYS[1], dfield(f)) or '0')\n"    \
    "      local hosts = d + (c > 0 and 0 or 1)\n"                                 \
    "      if hosts > max then hit, count = i, hosts end\n"                        \
    "    elseif c + 1 > max then hit, count = i, c + 1 end\n"                      \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "if hit > 0 and ARGV[2] ~= '1' then return {hit, count} end\n"                 \
    "local seen = {}\n"                                                            \
    "for i = 1, n do\n"                                                            \
    "  local b = 4 + (i - 1) * 4\n"                                                \
    "  local f = ARGV[b + 2]\n"                                                    \
    "  if windows[i] then\n"                                                       \
    "    redis.call('ZADD', windows[i], now, ARGV[1] .. ':' .. ARGV[3] .. ':' .. i)\n" \
    "    redis.call('PEXPIRE', windows[i], tonumber(ARGV[b + 4]) + 1000)\n"        \
    "  elseif not seen[f] then\n"                                                  \
    "    seen[f] = true\n"                                                         \
    "    add(KEYS[1], f, 1)\n"                                                     \
    "    redis.call('HINCRBY', KEYS[2], f, 1)\n"                                   \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "if hit > 0 then return {hit, count, 1} end\n"                                 \
    "return {0}\n"

/* KEYS: total, this node's hash. ARGV: the fields a session leaves. A
 * field this node does not hold (its lease ended since) is left alone. */
#define LUA_RELEASE                                                                \
    LUA_PRELUDE                                                                    \
    "for i = 1, #ARGV do\n"                                                        \
    "  local f = ARGV[i]\n"                                                        \
    "  local v = redis.call('HINCRBY', KEYS[2], f, -1)\n"                          \
    "  if v < 0 then\n"                                                            \
    "    redis.call('HDEL', KEYS[2], f)\n"                                         \
    "  else\n"                                                                     \
    "    if v == 0 then redis.call('HDEL', KEYS[2], f) end\n"                      \
    "    add(KEYS[1], f, -1)\n"                                                    \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "return 0\n"

/* KEYS: total, this node's hash, nodes. ARGV: node, lease (ms), first (1:
 * this node's counts start anew), then field, count pairs: what this node
 * counts, declared after it (re)connected or lost its lease. */
#define LUA_DECLARE                                                                \
    LUA_PRELUDE                                                                    \
    "if ARGV[3] == '1' then\n"                                                     \
    "  local old = redis.call('HGETALL', KEYS[2])\n"                               \
    "  for i = 1, #old, 2 do add(KEYS[1], old[i], -tonumber(old[i + 1])) end\n"    \
    "  redis.call('DEL', KEYS[2])\n"                                               \
    "end\n"                                                                        \
    "for i = 4, #ARGV, 2 do\n"                                                     \
    "  local n = tonumber(ARGV[i + 1])\n"                                          \
    "  add(KEYS[1], ARGV[i], n)\n"                                                 \
    "  redis.call('HINCRBY', KEYS[2], ARGV[i], n)\n"                               \
    "end\n"                                                                        \
    "redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), ARGV[1])\n"              \
    "return 1\n"

/* KEYS: nodes, total, this node's hash. ARGV: node, lease (ms), then the
 * fields whose farm and node counts to return. Renews the lease of a node
 * that holds one. Returns {held (0: declare), {live nodes}, {expired
 * nodes}, {farm counts}, {node counts}}. */
#define LUA_HEARTBEAT                                                              \
    LUA_PRELUDE                                                                    \
    "local held = 0\n"                                                             \
    "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"                             \
    "  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"            \
    "  held = 1\n"                                                                 \
    "end\n"                                                                        \
    "local live = redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')\n"             \
    "local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)\n"      \
    "local farm, own = {}, {}\n"                                                   \
    "for i = 3, #ARGV do\n"                                                        \
    "  farm[#farm + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or '0'\n"            \
    "  own[#own + 1] = redis.call('HGET', KEYS[3], ARGV[i]) or '0'\n"              \
    "end\n"                                                                        \
    "return {held, live, dead, farm, own}\n"

/* KEYS: total, nodes, then each expired node's hash. ARGV: their names.
 * Takes what a node whose lease ended counted out of the farm's counts
 * (unless it renewed meanwhile). */
#define LUA_REAP                                                                   \
    LUA_PRELUDE                                                                    \
    "local reaped = 0\n"                                                           \
    "for i = 1, #ARGV do\n"                                                        \
    "  local s = redis.call('ZSCORE', KEYS[2], ARGV[i])\n"                         \
    "  if s and tonumber(s) < now then\n"                                          \
    "    local old = redis.call('HGETALL', KEYS[i + 2])\n"                         \
    "    for j = 1, #old, 2 do add(KEYS[1], old[j], -tonumber(old[j + 1])) end\n"  \
    "    redis.call('DEL', KEYS[i + 2])\n"                                         \
    "    redis.call('ZREM', KEYS[2], ARGV[i])\n"                                   \
    "    reaped = reaped + 1\n"                                                    \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "return reaped\n"

/* KEYS: total, this node's hash, nodes. ARGV: node. A node that stops
 * takes its counts out and gives its lease back. */
#define LUA_LEAVE                                                                  \
    LUA_PRELUDE                                                                    \
    "local old = redis.call('HGETALL', KEYS[2])\n"                                 \
    "for i = 1, #old, 2 do add(KEYS[1], old[i], -tonumber(old[i + 1])) end\n"      \
    "redis.call('DEL', KEYS[2])\n"                                                 \
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"                                       \
    "return 1\n"

#endif
