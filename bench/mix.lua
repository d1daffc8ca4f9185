-- wrk script: the realistic mix (bench/mix.py writes its data and reads its results).
--
-- BENCH_MIX names a Lua file that returns { users = {...}, kinds = {...} } (see
-- bench/mix.py, write_lua_data). For each request this picks a page kind by its weight, a
-- user allowed to see it (their session cookie), and one of the kind's URLs; a POST gets
-- one of the kind's bodies with the user's CSRF token put in for {csrf}. The public form's
-- bodies each carry their own form token and visitor session, and each is sent once while
-- they last (every wrk thread takes its own slice).
--
-- Each request carries X-Bench-Kind, X-Bench-Run (BENCH_RUN: which run it belongs to, so
-- the app's records of the warm-up are told apart) and X-Bench-Sent (a clock in µs); the
-- benchmark's app echoes them back (bench/bench_wsgi.py), so the latency the client saw
-- is known per kind. done() writes "kind <tab> status <tab> microseconds" lines to
-- BENCH_MIX_OUT.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]
local timespec = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.tv_sec) * 1000000 + math.floor(tonumber(timespec.tv_nsec) / 1000)
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local data, total_weight, run_id
local form_position, form_last
-- What this thread saw: parallel arrays, read by done() through thread:get.
seen_kind, seen_status, seen_us = {}, {}, {}
local seen = 0

function init(args)
  data = dofile(os.getenv("BENCH_MIX"))
  run_id = os.getenv("BENCH_RUN") or "-"
  math.randomseed(os.time() + 7919 * (thread_index + 1))
  total_weight = 0
  for _, kind in ipairs(data.kinds) do
    total_weight = total_weight + kind.weight
    if kind.forms then
      local count = tonumber(os.getenv("BENCH_THREADS") or "1")
      local slice = math.floor(#kind.forms / count)
      form_position = slice * thread_index
      form_last = form_position + slice
      kind.form_first = form_position + 1
    end
  end
end

local function pick_kind()
  local r = math.random() * total_weight
  for _, kind in ipairs(data.kinds) do
    r = r - kind.weight
    if r <= 0 then
      return kind
    end
  end
  return data.kinds[#data.kinds]
end

request = function()
  local kind = pick_kind()
  local headers = {
    ["X-Bench-Kind"] = kind.name,
    ["X-Bench-Sent"] = tostring(now_us()),
    ["X-Bench-Run"] = run_id,
  }
  local body = nil
  local path = kind.urls[math.random(#kind.urls)]
  if kind.forms then
    -- The public form: the next prepared submission, with its visitor's session.
    form_position = form_position + 1
    if form_position > form_last then
      form_position = kind.form_first
    end
    local form = kind.forms[form_position]
    headers["Cookie"] = data.visitors[form[1]]
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    body = form[2]
  elseif #kind.users > 0 then
    local user = data.users[kind.users[math.random(#kind.users)]]
    headers["Cookie"] = user.cookie
    if kind.method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      body = kind.bodies[math.random(#kind.bodies)]:gsub("{csrf}", user.csrf_pattern)
    end
  end
  return wrk.format(kind.method, path, headers, body)
end

response = function(status, headers, body)
  local sent = headers["X-Bench-Sent"] or headers["x-bench-sent"]
  local kind = headers["X-Bench-Kind"] or headers["x-bench-kind"]
  if sent and kind then
    seen = seen + 1
    seen_kind[seen] = kind
    seen_status[seen] = status
    seen_us[seen] = now_us() - tonumber(sent)
  end
end

function done(summary, latency, requests)
  local out = io.open(os.getenv("BENCH_MIX_OUT"), "w")
  for _, thread in ipairs(threads) do
    local kinds, statuses, times = thread:get("seen_kind"), thread:get("seen_status"),
        thread:get("seen_us")
    for index = 1, #kinds do
      out:write(kinds[index], "\t", statuses[index], "\t", times[index], "\n")
    end
  end
  out:close()
end
