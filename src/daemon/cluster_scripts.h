/*
 * daemon/cluster_scripts.h - the scripts the farm's store runs (Redis Lua,
 * doc/cluster.md): each one atomic, all on keys of one hash tag.
 *
 *   {ftplimit}:total        hash: field -> the farm's count
 *   {ftplimit}:node:NAME    hash: session id -> the fields NAME counts the
 *                           session in, "\n" between them
 *   {ftplimit}:nodes        sorted set: NAME -> the end of its lease (ms)
 *   {ftplimit}:rate:FIELD   sorted set: a connection-rate window
 *   {ftplimit}:bans         hash: ban -> its end, reason and message
 *   {ftplimit}:ban-ends     sorted set: ban -> its end (ms): the heartbeats
 *                           drop the bans past it
 * The total is the sum of the nodes' sessions' fields. A field "P..." (a
 * user's sessions from one host) also keeps the total's "D..." (the user's
 * distinct hosts) as it goes to and from 0.
 */
#ifndef FL_DAEMON_CLUSTER_SCRIPTS_H
#define FL_DAEMON_CLUSTER_SCRIPTS_H

/* What every script starts with: add() changes a total (keeping the
 * distinct hosts, and dropping what reaches 0) and returns the count and,
 * when it moved, the user's distinct hosts; fields() splits a session's
 * fields; drop() takes a node's sessions out of the totals; clock() is the
 * store's time in ms. */
#define LUA_PRELUDE                                                                \
    "local function dfield(f)\n"                                                   \
    "  local a = string.find(f, '|', 2, true)\n"                                   \
    "  local b = string.find(f, '|', a + 1, true)\n"                               \
    "  return 'D' .. string.sub(f, 2, b + tonumber(string.sub(f, a + 1, b - 1)))\n" \
    "end\n"                                                                        \
    "local function add(total, f, n)\n"                                            \
    "  local v = redis.call('HINCRBY', total, f, n)\n"                             \
    "  if v <= 0 then redis.call('HDEL', total, f) end\n"                          \
    "  if string.byte(f, 1) == 80 and ((v - n) > 0) ~= (v > 0) then\n"             \
    "    local d = dfield(f)\n"                                                    \
    "    local h = redis.call('HINCRBY', total, d, v > 0 and 1 or -1)\n"           \
    "    if h <= 0 then redis.call('HDEL', total, d) end\n"                        \
    "    return v, h\n"                                                            \
    "  end\n"                                                                      \
    "  return v\n"                                                                 \
    "end\n"                                                                        \
    "local function fields(v, into, k)\n"                                          \
    "  for f in string.gmatch(v, '[^\\n]+') do into[f] = (into[f] or 0) + k end\n"  \
    "end\n"                                                                        \
    "local function drop(total, node)\n"                                           \
    "  local old, n = redis.call('HGETALL', node), {}\n"                           \
    "  for i = 2, #old, 2 do fields(old[i], n, 1) end\n"                           \
    "  for f, k in pairs(n) do add(total, f, -k) end\n"                            \
    "  redis.call('DEL', node)\n"                                                  \
    "end\n"                                                                        \
    "local now\n"                                                                  \
    "local function clock()\n"                                                     \
    "  if not now then\n"                                                          \
    "    local t = redis.call('TIME')\n"                                           \
    "    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"        \
    "  end\n"                                                                      \
    "  return now\n"                                                               \
    "end\n"

/* A batch of decisions, each atomic and in order.
 * KEYS: total, this node's hash, nodes, then a window per rate claim of
 * the batch, in order. ARGV: node, force (1: DryRun, count even past a
 * limit), sequence, the number of decisions, then for each: its number of
 * claims, its session's id and fields once counted, then op, field, max,
 * interval (ms) a claim. A claim counts its field (once a decision) and
 * checks the count with it: "c" count + 1 <= max, "x" the user's distinct
 * hosts with this one <= max, "r" fewer than max connections in the
 * window, "+" no check. A refusal takes back what the decision counted.
 * Returns -1: this node holds no lease (nothing done: declare, then ask
 * again); else per decision 0 (counted), {i, count} (claim i exceeded,
 * count with this session; nothing counted) or {i, count, 1} (force:
 * counted all the same). */
#define LUA_DECIDE                                                                 \
    LUA_PRELUDE                                                                    \
    "if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then return -1 end\n"           \
    "local force = ARGV[2] == '1'\n"                                               \
    "local a, r, out, sets = 5, 4, {}, {}\n"                                       \
    "for d = 1, tonumber(ARGV[4]) do\n"                                            \
    "  local n, sid, value = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2]\n"        \
    "  local base = a + 3\n"                                                       \
    "  a = base + 4 * n\n"                                                         \
    "  local windows = {}\n"                                                       \
    "  for i = 1, n do\n"                                                          \
    "    if ARGV[base + (i - 1) * 4] == 'r' then windows[i] = KEYS[r]; r = r + 1 end\n" \
    "  end\n"                                                                      \
    "  local hit, count, done, order, hosts = 0, 0, {}, {}, {}\n"                  \
    "  for i = 1, n do\n"                                                          \
    "    local b = base + (i - 1) * 4\n"                                           \
    "    local op, f, max = ARGV[b], ARGV[b + 1], tonumber(ARGV[b + 2])\n"         \
    "    if op == 'r' then\n"                                                      \
    "      redis.call('ZREMRANGEBYSCORE', windows[i], '-inf',\n"                   \
    "                 clock() - tonumber(ARGV[b + 3]))\n"                          \
    "      local c = redis.call('ZCARD', windows[i])\n"                            \
    "      if hit == 0 and c + 1 > max then hit, count = i, c + 1 end\n"           \
    "    else\n"                                                                   \
    "      local v = done[f]\n"                                                    \
    "      if not v then\n"                                                        \
    "        v, hosts[f] = add(KEYS[1], f, 1)\n"                                   \
    "        done[f] = v; order[#order + 1] = f\n"                                 \
    "      end\n"                                                                  \
    "      if hit == 0 and max >= 0 then\n"                                        \
    "        if op == 'x' then\n"                                                  \
    "          local h = hosts[f] or\n"                                            \
    "                    tonumber(redis.call('HGET', KEYS[1], dfield(f)) or '0')\n" \
    "          if h > max then hit, count = i, h end\n"                             \
    "        elseif v > max then hit, count = i, v end\n"                          \
    "      end\n"                                                                  \
    "    end\n"                                                                    \
    "    if hit > 0 and not force then break end\n"                                \
    "  end\n"                                                                      \
    "  if hit > 0 and not force then\n"                                            \
    "    for j = #order, 1, -1 do add(KEYS[1], order[j], -1) end\n"                \
    "    out[d] = {hit, count}\n"                                                  \
    "  else\n"                                                                     \
    "    if #order > 0 then sets[#sets + 1] = sid; sets[#sets + 1] = value end\n"  \
    "    for i, w in pairs(windows) do\n"                                          \
    "      redis.call('ZADD', w, clock(), ARGV[1] .. ':' .. ARGV[3] .. ':' .. d .. ':' .. i)\n" \
    "      redis.call('PEXPIRE', w, tonumber(ARGV[base + (i - 1) * 4 + 3]) + 1000)\n" \
    "    end\n"                                                                    \
    "    out[d] = hit > 0 and {hit, count, 1} or 0\n"                              \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "if #sets > 0 then redis.call('HSET', KEYS[2], unpack(sets)) end\n"            \
    "return out\n"

/* KEYS: total, this node's hash. ARGV: session id, fields pairs: what the
 * session counts in from now on ("": nothing, it ended). The farm counts
 * what the node's hash says the session counted in: a session it does not
 * hold (its lease ended since, and the declaration left it out) is left
 * alone. */
#define LUA_RELEASE                                                                \
    LUA_PRELUDE                                                                    \
    "local n, gone, kept = {}, {}, {}\n"                                           \
    "for i = 1, #ARGV, 2 do\n"                                                     \
    "  local old = redis.call('HGET', KEYS[2], ARGV[i])\n"                         \
    "  if old then\n"                                                              \
    "    fields(old, n, 1)\n"                                                      \
    "    fields(ARGV[i + 1], n, -1)\n"                                             \
    "    if ARGV[i + 1] == '' then gone[#gone + 1] = ARGV[i]\n"                    \
    "    else kept[#kept + 1] = ARGV[i]; kept[#kept + 1] = ARGV[i + 1] end\n"      \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "for f, k in pairs(n) do if k ~= 0 then add(KEYS[1], f, -k) end end\n"         \
    "if #gone > 0 then redis.call('HDEL', KEYS[2], unpack(gone)) end\n"            \
    "if #kept > 0 then redis.call('HSET', KEYS[2], unpack(kept)) end\n"            \
    "return 0\n"

/* KEYS: total, this node's hash, nodes. ARGV: node, lease (ms), first (1:
 * this node's part starts anew), then session id, fields pairs: what this
 * node counts, declared after it (re)connected or lost its lease. */
#define LUA_DECLARE                                                                \
    LUA_PRELUDE                                                                    \
    "if ARGV[3] == '1' then drop(KEYS[1], KEYS[2]) end\n"                          \
    "local n = {}\n"                                                               \
    "for i = 5, #ARGV, 2 do fields(ARGV[i], n, 1) end\n"                           \
    "for f, k in pairs(n) do add(KEYS[1], f, k) end\n"                             \
    "if #ARGV > 3 then redis.call('HSET', KEYS[2], unpack(ARGV, 4, #ARGV)) end\n"  \
    "redis.call('ZADD', KEYS[3], clock() + tonumber(ARGV[2]), ARGV[1])\n"          \
    "return 1\n"

/* KEYS: nodes, total, bans, ban ends, this node's hash. ARGV: node, lease
 * (ms), then the fields whose farm counts to return. Renews the lease of a
 * node that holds one, and drops bans past their end (a thousand at a
 * time). Returns {held (0: declare), {live nodes}, {expired nodes}, {farm
 * counts}}. */
#define LUA_HEARTBEAT                                                              \
    LUA_PRELUDE                                                                    \
    "local held = 0\n"                                                             \
    "if redis.call('ZSCORE', KEYS[1], ARGV[1]) then\n"                             \
    "  redis.call('ZADD', KEYS[1], clock() + tonumber(ARGV[2]), ARGV[1])\n"        \
    "  held = 1\n"                                                                 \
    "end\n"                                                                        \
    "local live = redis.call('ZRANGEBYSCORE', KEYS[1], clock(), '+inf')\n"         \
    "local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. clock())\n"  \
    "local ended = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', clock(),\n"        \
    "                         'LIMIT', 0, 1000)\n"                                  \
    "if #ended > 0 then\n"                                                         \
    "  redis.call('HDEL', KEYS[3], unpack(ended))\n"                               \
    "  redis.call('ZREM', KEYS[4], unpack(ended))\n"                               \
    "end\n"                                                                        \
    "local farm = {}\n"                                                            \
    "for i = 3, #ARGV do\n"                                                        \
    "  farm[#farm + 1] = redis.call('HGET', KEYS[2], ARGV[i]) or '0'\n"            \
    "end\n"                                                                        \
    "return {held, live, dead, farm}\n"

/* KEYS: total, nodes, then each expired node's hash. ARGV: their names.
 * Takes the sessions of a node whose lease ended out of the farm's counts
 * (unless it renewed meanwhile). */
#define LUA_REAP                                                                   \
    LUA_PRELUDE                                                                    \
    "local reaped = 0\n"                                                           \
    "for i = 1, #ARGV do\n"                                                        \
    "  local s = redis.call('ZSCORE', KEYS[2], ARGV[i])\n"                         \
    "  if s and tonumber(s) < clock() then\n"                                      \
    "    drop(KEYS[1], KEYS[i + 2])\n"                                             \
    "    redis.call('ZREM', KEYS[2], ARGV[i])\n"                                   \
    "    reaped = reaped + 1\n"                                                    \
    "  end\n"                                                                      \
    "end\n"                                                                        \
    "return reaped\n"

/* KEYS: total, this node's hash, nodes. ARGV: node. A node that stops
 * takes its sessions out and gives its lease back. */
#define LUA_LEAVE                                                                  \
    LUA_PRELUDE                                                                    \
    "drop(KEYS[1], KEYS[2])\n"                                                     \
    "redis.call('ZREM', KEYS[3], ARGV[1])\n"                                       \
    "return 1\n"

#endif
