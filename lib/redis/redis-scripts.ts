/**
 * Server-side scripts of the Redis store: each runs atomically, so a compare-and-set transition, a
 * half-open permit and a window delta never race with another instance's.
 *
 * Keys of one breaker share a hash tag (`prefix{name}:...`). A state hash holds
 *   v = version, s = state, oa = openedAt ('' when not open), ou = openUntil, k = open streak,
 *   e = window epoch (bumped when the fleet's window starts afresh), t = trial successes,
 *   r / n / fr / sr = what opened it (reason, calls, failure and slow-call rates; '' when closed),
 *   w = the server's time of the write.
 * Stored times are on the server's clock (`TIME`): a writer sends its own times and its now, the
 * script stores them as durations from the server's now, and every answer (and message) carries the
 * server's now, so each reader places them on its own clock. Host clock skew drops out.
 * A write carries a deadline on the server's clock: one that reaches Redis after it (a command
 * queued during a stall, which the instance has given up on) is refused.
 * Window slices are hashes `prefix{name}:w:<epoch>:<bucketMs>:<slice>` with c / f / s counters;
 * they expire.
 * Unreadable data (wrong type, non-numbers, unknown state) is reported as corrupt and treated as
 * absent; the next transition overwrites it.
 *
 * Replies are arrays of strings (Lua numbers would be truncated to integers by Redis).
 */
import { SHARED_STATES } from '../core/states/index.js';

/** The states a store may hold, from the engine's table of states. */
const VALID_STATES = [...SHARED_STATES].map((state) => `${state} = true`).join(', ');

const READ_STATE = `
local function failed(r) return type(r) == 'table' and r.err ~= nil end
local VALID = { ${VALID_STATES} }
-- What a JavaScript reader accepts too: a safe integer (|x| < 2^53), a finite number. Lua reads
-- 'inf', '1e400' and '9007199254740993' as numbers; a field JavaScript cannot read would make the
-- state look valid here and unreadable there, and every later compare-and-set would be refused.
local MAX_SAFE = 9007199254740991
local function count(x) return x and x == x and x >= 0 and x <= MAX_SAFE and x == math.floor(x) end
local function finite(x) return x and x == x and x > -math.huge and x < math.huge end
-- Whole milliseconds: a time moved by a whole number stays exact.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local NOW = server_ms()
local function read_state(key)
  local r = redis.pcall('HMGET', key, 'v', 's', 'oa', 'ou', 'k', 'e', 't', 'r', 'n', 'fr', 'sr', 'w')
  if failed(r) then return nil, true end
  if not r[1] and not r[2] then return nil, false end
  local v, oa, ou, k, e, t = tonumber(r[1]), tonumber(r[3]), tonumber(r[4]), tonumber(r[5]), tonumber(r[6]), tonumber(r[7])
  if not count(v) or v < 1 or not finite(ou) or not count(k) or not count(e) or not count(t) or not VALID[r[2]] then return nil, true end
  if r[3] ~= '' and not finite(oa) then return nil, true end
  if r[3] == '' then oa = nil end
  local st = { v = v, s = r[2], oa = oa, ou = ou, k = k, e = e, t = t }
  local w = tonumber(r[12])
  if count(w) then st.w = w end
  -- what opened it is informative only: unreadable facts are dropped, the state is kept
  local n, fr, sr = tonumber(r[9]), tonumber(r[10]), tonumber(r[11])
  if type(r[8]) == 'string' and r[8] ~= '' and string.len(r[8]) <= 40 and count(n) and finite(fr) and finite(sr) then
    st.r, st.n, st.fr, st.sr = r[8], n, fr, sr
  end
  return st, false
end
-- Numbers are answered as strings JavaScript reads back exactly (integers in full, times with 17 digits).
local function int(x) return string.format('%d', x) end
local function num(x) return string.format('%.17g', x) end
-- v, s, oa, ou, k, server now, r, n, fr, sr, server time of the write
local function pack(st)
  if not st then return { '', '', '', '', '', int(NOW), '', '', '', '', '' } end
  local facts = st.r and { st.r, int(st.n), num(st.fr), num(st.sr) } or { '', '', '', '' }
  return { int(st.v), st.s, st.oa and num(st.oa) or '', num(st.ou), int(st.k), int(NOW), facts[1], facts[2], facts[3], facts[4], st.w and int(st.w) or '' }
end
local function write_state(key, permits, channel, name, st, corrupt)
  if corrupt then redis.call('DEL', key) end
  st.w = NOW
  redis.call('HSET', key, 'w', int(NOW), 'v', int(st.v), 's', st.s, 'oa', st.oa and num(st.oa) or '', 'ou', num(st.ou), 'k', int(st.k), 'e', int(st.e), 't', 0,
    'r', st.r or '', 'n', st.r and int(st.n) or '', 'fr', st.r and num(st.fr) or '', 'sr', st.r and num(st.sr) or '')
  redis.pcall('DEL', permits)
  local reply = pack(st)
  redis.call('PUBLISH', channel, name .. '\\n' .. table.concat(reply, '\\n'))
  return reply
end
-- a write whose deadline (server clock) passed was given up by its instance: it must not apply
local function too_late(deadline)
  local d = tonumber(deadline)
  return d and d > 0 and NOW > d
end
`;

/**
 * KEYS: state, window slice prefix, fleet options. ARGV: bucketMs, buckets, countLimit, nowMs, calls,
 * failures, slowCalls, sliceTtlMs, the options version the instance has. Reply: state (11 strings, see pack), corrupt flag (state or window), calls, failures,
 * slowCalls, state-unreadable flag, then the options record (version, JSON, source) when newer.
 */
export const SYNC_SCRIPT = `${READ_STATE}
local st, corrupt = read_state(KEYS[1])
local state_corrupt = corrupt
local epoch = st and st.e or 0
local bucket_ms, buckets, limit, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local slice = math.floor(now / bucket_ms)
-- slices of another slicing (instances configured differently, a reconfigure) are not mixed in
local prefix = KEYS[2] .. epoch .. ':' .. ARGV[1] .. ':'
local dc, df, ds = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if dc > 0 then
  local key = prefix .. string.format('%d', slice)
  local c1, f1, s1 = redis.pcall('HINCRBY', key, 'c', dc), redis.pcall('HINCRBY', key, 'f', df), redis.pcall('HINCRBY', key, 's', ds)
  -- an unreadable or impossible slice is reset to this delta (the delta is kept, the garbage dropped)
  if failed(c1) or failed(f1) or failed(s1) or c1 < dc or f1 < df or s1 < ds then
    corrupt = true
    redis.call('DEL', key)
    redis.call('HSET', key, 'c', dc, 'f', df, 's', ds)
  end
  redis.call('PEXPIRE', key, ARGV[8])
end
local c, f, s = 0, 0, 0
for i = 0, buckets - 1 do
  local r = redis.pcall('HMGET', prefix .. string.format('%d', slice - i), 'c', 'f', 's')
  if failed(r) then
    corrupt = true
  elseif r[1] or r[2] or r[3] then
    local a, b, d = tonumber(r[1] or '0'), tonumber(r[2] or '0'), tonumber(r[3] or '0')
    if a and b and d and a >= 0 and b >= 0 and d >= 0 then
      c, f, s = c + a, f + b, s + d
    else
      corrupt = true
    end
  end
  if limit > 0 and c >= limit then break end
end
local reply = pack(st)
reply[12] = corrupt and '1' or '0'
reply[13], reply[14], reply[15] = int(c), int(f), int(s)
reply[16] = state_corrupt and '1' or '0'
-- the fleet options record, when newer than the one the instance has
local o = redis.pcall('HMGET', KEYS[3], 'v', 'j', 'src')
local ov = (not failed(o)) and tonumber(o[1]) or nil
if count(ov) and ov > tonumber(ARGV[9]) and type(o[2]) == 'string' then
  reply[17], reply[18], reply[19] = int(ov), o[2], type(o[3]) == 'string' and o[3] or ''
else
  reply[17], reply[18], reply[19] = '', '', ''
end
return reply
`;

/**
 * KEYS: state, permits. ARGV: channel, encoded name, expectedVersion, state, openedAt, openUntil,
 * openStreak, clearWindow ('1'/'0'), writer's nowMs, deadline (server ms, 0: none), reason, calls,
 * failureRate, slowCallRate ('' when no facts). Reply: the state in force afterwards.
 */
export const TRANSITION_SCRIPT = `${READ_STATE}
local st, corrupt = read_state(KEYS[1])
if too_late(ARGV[10]) then return pack(st) end
local expected = tonumber(ARGV[3])
if st and st.v ~= expected then return pack(st) end
local base = st and st.v or 0
if expected > base then base = expected end
local epoch = st and st.e or 0
if ARGV[8] == '1' then epoch = epoch + 1 end
-- the writer's times as durations from the server's now
local shift = NOW - tonumber(ARGV[9])
local oa, ou = tonumber(ARGV[5]), tonumber(ARGV[6])
local next = { v = base + 1, s = ARGV[4], k = tonumber(ARGV[7]), e = epoch }
next.oa = finite(oa) and oa + shift or nil
next.ou = (ARGV[4] == 'open' and finite(ou)) and ou + shift or (finite(ou) and ou or 0)
if ARGV[11] ~= '' then
  next.r, next.n, next.fr, next.sr = ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13]), tonumber(ARGV[14])
end
return write_state(KEYS[1], KEYS[2], ARGV[1], ARGV[2], next, corrupt)
`;

/**
 * KEYS: state, permits. ARGV: version, token, maxCalls, nowMs, expiresAtMs, ignoreOpenUntil,
 * openUntilMs (the requester's clock, like nowMs and expiresAtMs).
 * Reply: granted ('1'/'0'), retryAtMs, then the state.
 */
export const ACQUIRE_TRIAL_SCRIPT = `${READ_STATE}
local st = read_state(KEYS[1])
local now = tonumber(ARGV[4])
local function answer(granted, retry_at)
  local reply = pack(st)
  table.insert(reply, 1, retry_at)
  table.insert(reply, 1, granted)
  return reply
end
if not st or st.v ~= tonumber(ARGV[1]) or st.s ~= 'open' then return answer('0', ARGV[4]) end
local open_until = tonumber(ARGV[7]) or 0
if ARGV[6] ~= '1' and now < open_until then return answer('0', ARGV[7]) end
if failed(redis.pcall('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])) then redis.call('DEL', KEYS[2]) end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return answer('0', first[2])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
-- the set lives as long as its latest permit (instances may differ in halfOpenProbeTimeoutMs)
local latest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[2], math.max(1, math.ceil(tonumber(latest[2]) - now)) + 1000)
return answer('1', ARGV[4])
`;

/**
 * KEYS: state, permits. ARGV: channel, encoded name, version, token, maxCalls, deadline (server
 * ms, 0: none). Reply: the state in force afterwards (closed when this was the last success needed).
 */
export const COMPLETE_TRIAL_SCRIPT = `${READ_STATE}
local st = read_state(KEYS[1])
if too_late(ARGV[6]) then return pack(st) end
if not st or st.v ~= tonumber(ARGV[3]) then return pack(st) end
local removed = redis.pcall('ZREM', KEYS[2], ARGV[4])
if removed ~= 1 then return pack(st) end
local t = redis.call('HINCRBY', KEYS[1], 't', 1)
if t < tonumber(ARGV[5]) then return pack(st) end
return write_state(KEYS[1], KEYS[2], ARGV[1], ARGV[2], { v = st.v + 1, s = 'closed', ou = 0, k = 0, e = st.e + 1 }, false)
`;

/**
 * KEYS: fleet options. ARGV: JSON settings, source. Stores the record under the next version.
 * Reply: the version.
 */
export const WRITE_OPTIONS_SCRIPT = `
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'j', ARGV[1], 'src', ARGV[2])
return string.format('%d', v)
`;

/**
 * The fleet view. KEYS: the instances hash (field: instance id, value: `<server ms>\n<ttl ms>\n<JSON
 * heartbeat>`). ARGV: id, JSON heartbeat, ttlMs (0 removes). Expired fields are pruned on the way;
 * the hash itself expires when no heartbeat renews it. Ages are on the server's clock.
 */
export const HEARTBEAT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
if ttl <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now) .. '\\n' .. string.format('%d', ttl) .. '\\n' .. ARGV[2])
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local at, life = string.match(all[i + 1], '^(%d+)\\n(%d+)\\n')
  if not at or now - tonumber(at) >= tonumber(life) then redis.call('HDEL', KEYS[1], all[i]) end
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return 1
`;

/** KEYS: the instances hash. Reply: id, age (ms), JSON heartbeat, for every live heartbeat. */
export const INSTANCES_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local at, life, json = string.match(all[i + 1], '^(%d+)\\n(%d+)\\n(.*)$')
  if at and now - tonumber(at) < tonumber(life) then
    table.insert(out, all[i])
    table.insert(out, string.format('%d', math.max(0, now - tonumber(at))))
    table.insert(out, json)
  end
end
return out
`;
