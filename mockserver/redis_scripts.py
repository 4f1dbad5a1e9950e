"""The Lua scripts behind ``mockserver.redis_store``: each store write, its undo, and each page, as one
atomic step on the Redis server, so that workers writing to one collection at once never interleave
inside a write (ids stay unique, appends keep one order, caps hold across workers).

Every collection script gets the same eight keys (``KEYS``), in this order::

    1 meta      hash: seq (next sequence number), index, ck (removed keys stay cursors), records, bytes, token
    2 records   hash: key -> record JSON
    3 order     sorted set: key scored by its sequence number (insertion order; touch moves to the end)
    4 removed   hash: key -> sequence number of a removed key (collections whose removed keys stay cursors)
    5 tenant    hash: records, bytes the tenant is charged for
    6 total     hash: records, bytes charged over every store sharing the Redis database
    7 names     set: the tenant's collection names (the tenant exists while it is not empty)
    8 tenants   set: the store's tenants

Scripts that can be refused by a cap take the four caps as ``ARGV[1..4]`` (-1 lifts one) and answer
``{-3, tenant records, tenant bytes, total records, total bytes}`` so the caller words the refusal.
"""

from __future__ import annotations

_COMMON = """
local function usage(key)
  local v = redis.call('HMGET', key, 'records', 'bytes')
  return tonumber(v[1] or '0'), tonumber(v[2] or '0')
end
local function refused(records, size)
  local tr, tb = usage(KEYS[5])
  local ar, ab = usage(KEYS[6])
  local c1, c2, c3, c4 = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  if (c1 >= 0 and tr + records > c1) or (c2 >= 0 and tb + size > c2)
      or (c3 >= 0 and ar + records > c3) or (c4 >= 0 and ab + size > c4) then
    return {-3, tr, tb, ar, ab}
  end
  return nil
end
local function charge(records, size, with_meta)
  if records == 0 then records = 0 end  -- not -0, which HINCRBY refuses
  if size == 0 then size = 0 end
  for _, key in ipairs({KEYS[5], KEYS[6]}) do
    redis.call('HINCRBY', key, 'records', records)
    redis.call('HINCRBY', key, 'bytes', size)
  end
  if with_meta then
    redis.call('HINCRBY', KEYS[1], 'records', records)
    redis.call('HINCRBY', KEYS[1], 'bytes', size)
  end
end
local function counted()
  return redis.call('HGET', KEYS[1], 'index') == '0'
end
local function forget_if_empty(tenant)
  if redis.call('SCARD', KEYS[7]) == 0 then
    redis.call('DEL', KEYS[7], KEYS[5])
    redis.call('SREM', KEYS[8], tenant)
  end
end
"""

CREATE = _COMMON + """
-- ARGV: index, ck, token, name, tenant. Returns 1 if created, 0 if it existed.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'seq', 0, 'index', ARGV[1], 'ck', ARGV[2], 'records', 0, 'bytes', 0, 'token', ARGV[3])
if redis.call('EXISTS', KEYS[5]) == 0 then redis.call('HSET', KEYS[5], 'records', 0, 'bytes', 0) end
redis.call('SADD', KEYS[7], ARGV[4])
redis.call('SADD', KEYS[8], ARGV[5])
return 1
"""

UNDO_CREATE = _COMMON + """
-- ARGV: token, name, tenant. Only the very collection created, and only while it holds nothing.
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] or redis.call('ZCARD', KEYS[3]) > 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[7], ARGV[2])
forget_if_empty(ARGV[3])
return 1
"""

INSERT = _COMMON + """
-- ARGV: caps(4), n, then n pairs key, json. Returns {0, first sequence number, earlier removed seq or ''...},
-- {-1} if the collection does not exist, {-2} if a key is taken, or a refusal.
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local n = tonumber(ARGV[5])
local size = 0
for i = 0, n - 1 do
  if redis.call('HEXISTS', KEYS[2], ARGV[6 + 2 * i]) == 1 then return {-2} end
  size = size + #ARGV[7 + 2 * i]
end
if counted() then
  local refusal = refused(n, size)
  if refusal then return refusal end
  charge(n, size, true)
end
local first = redis.call('HINCRBY', KEYS[1], 'seq', n) - n
local out = {0, first}
for i = 0, n - 1 do
  local key = ARGV[6 + 2 * i]
  redis.call('HSET', KEYS[2], key, ARGV[7 + 2 * i])
  redis.call('ZADD', KEYS[3], first + i, key)
  local earlier = redis.call('HGET', KEYS[4], key)
  if earlier then
    redis.call('HDEL', KEYS[4], key)
    out[#out + 1] = earlier
  else
    out[#out + 1] = ''
  end
end
return out
"""

UNDO_INSERT = _COMMON + """
-- ARGV: n, then n pairs key, earlier removed seq or ''. Newest first; gives back the sequence numbers.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = tonumber(ARGV[1])
local released, size = 0, 0
for i = n, 1, -1 do
  local key, earlier = ARGV[2 * i], ARGV[2 * i + 1]
  local json = redis.call('HGET', KEYS[2], key)
  if json then
    local seq = tonumber(redis.call('ZSCORE', KEYS[3], key))
    redis.call('HDEL', KEYS[2], key)
    redis.call('ZREM', KEYS[3], key)
    if earlier ~= '' then redis.call('HSET', KEYS[4], key, earlier) end
    if seq == tonumber(redis.call('HGET', KEYS[1], 'seq')) - 1 then redis.call('HSET', KEYS[1], 'seq', seq) end
    released = released + 1
    size = size + #json
  end
end
if released > 0 and counted() then charge(-released, -size, true) end
return released
"""

REPLACE = _COMMON + """
-- ARGV: caps(4), key, json. Returns {0, old json}, {-2} if the key is missing, or a refusal (and the change).
local old = redis.call('HGET', KEYS[2], ARGV[5])
if not old then return {-2} end
if counted() then
  local change = #ARGV[6] - #old
  local refusal = refused(0, change)
  if refusal then
    refusal[6] = change
    return refusal
  end
  charge(0, change, true)
end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
return {0, old}
"""

UNDO_REPLACE = _COMMON + """
-- ARGV: key, old json.
local current = redis.call('HGET', KEYS[2], ARGV[1])
if not current then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if counted() then charge(0, #ARGV[2] - #current, true) end
return 1
"""

REMOVE = _COMMON + """
-- ARGV: key. Returns {1, old json, seq} or {0} if the key is missing.
local old = redis.call('HGET', KEYS[2], ARGV[1])
if not old then return {0} end
local seq = redis.call('ZSCORE', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'ck') == '1' then redis.call('HSET', KEYS[4], ARGV[1], seq) end
if counted() then charge(-1, -#old, true) end
return {1, old, seq}
"""

UNDO_REMOVE = _COMMON + """
-- ARGV: key, old json, seq. Puts the record back at its place in the order.
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if counted() then charge(1, #ARGV[2], true) end
return 1
"""

TOUCH = _COMMON + """
-- ARGV: key. Returns {0, old seq} or {-2} if the key is missing.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return {-2} end
local old = redis.call('ZSCORE', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[1], 'seq', 1) - 1, ARGV[1])
return {0, old}
"""

UNDO_TOUCH = _COMMON + """
-- ARGV: key, old seq.
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
local current = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[1]))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if current == tonumber(redis.call('HGET', KEYS[1], 'seq')) - 1 then redis.call('HSET', KEYS[1], 'seq', current) end
return 1
"""

DROP = _COMMON + """
-- ARGV: name, tenant. Returns {1, index, records, bytes, dump of keys 1..4 ('' for a missing key)} or {0}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {0} end
local meta = redis.call('HMGET', KEYS[1], 'index', 'records', 'bytes')
local out = {1, meta[1], meta[2], meta[3]}
for i = 1, 4 do out[#out + 1] = redis.call('DUMP', KEYS[i]) or '' end
if meta[1] == '0' then charge(-tonumber(meta[2]), -tonumber(meta[3]), false) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call('SREM', KEYS[7], ARGV[1])
forget_if_empty(ARGV[2])
return out
"""

UNDO_DROP = _COMMON + """
-- ARGV: name, tenant, index, records, bytes, dumps of keys 1..4. Unless a collection of that name was made since.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 1, 4 do
  if ARGV[5 + i] ~= '' then redis.call('RESTORE', KEYS[i], 0, ARGV[5 + i]) end
end
if redis.call('EXISTS', KEYS[5]) == 0 then redis.call('HSET', KEYS[5], 'records', 0, 'bytes', 0) end
redis.call('SADD', KEYS[7], ARGV[1])
redis.call('SADD', KEYS[8], ARGV[2])
if ARGV[3] == '0' then charge(tonumber(ARGV[4]), tonumber(ARGV[5]), false) end
return 1
"""

PAGE = """
-- KEYS: meta, order, records, removed. ARGV: after key or '', after position or '', limit, descending (1/0).
-- Returns {more (1/0), seq of the last record or '', json...}, or {-1} for an unknown cursor key.
local pos = nil
if ARGV[1] ~= '' then
  pos = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if not pos and redis.call('HGET', KEYS[1], 'ck') == '1' then pos = redis.call('HGET', KEYS[4], ARGV[1]) end
  if not pos then return {-1} end
elseif ARGV[2] ~= '' then
  pos = ARGV[2]
end
local limit = tonumber(ARGV[3])
local found
if ARGV[4] == '1' then
  local top = pos and ('(' .. pos) or '+inf'
  found = redis.call('ZREVRANGEBYSCORE', KEYS[2], top, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
else
  local bottom = pos and ('(' .. pos) or '-inf'
  found = redis.call('ZRANGEBYSCORE', KEYS[2], bottom, '+inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
end
local count = #found / 2
local out = {0, ''}
if count > limit then
  out[1] = 1
  count = limit
end
if count > 0 then out[2] = found[2 * count] end
for i = 1, count do out[#out + 1] = redis.call('HGET', KEYS[3], found[2 * i - 1]) end
return out
"""

PAGE_AT = """
-- KEYS: order, records. ARGV: offset, limit, descending (1/0). Returns {total, json...}.
local total = redis.call('ZCARD', KEYS[1])
local offset, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {total}
if limit <= 0 or offset >= total then return out end
local keys
if ARGV[3] == '1' then
  keys = redis.call('ZREVRANGE', KEYS[1], offset, offset + limit - 1)
else
  keys = redis.call('ZRANGE', KEYS[1], offset, offset + limit - 1)
end
for i = 1, #keys do out[#out + 1] = redis.call('HGET', KEYS[2], keys[i]) end
return out
"""
