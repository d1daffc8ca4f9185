-- wrk script: POST the public enquiry form, each request with its own prepared body (its own
-- form token, so each stores a new enquiry instead of hitting the double-submit check).
-- Bodies are read from the file named by BENCH_BODIES, one per line; each wrk thread takes
-- its own slice of them, so no body is sent twice while the file lasts.

local bodies = {}
local position = 0
local last = 0
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
  local count = tonumber(os.getenv("BENCH_THREADS") or "1")
  local slice = math.floor(#bodies / count)
  position = slice * thread_index
  last = position + slice
end

request = function()
  position = position + 1
  if position > last then
    position = last - math.floor(#bodies / tonumber(os.getenv("BENCH_THREADS") or "1")) + 1
  end
  return wrk.format("POST", "/contact", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = os.getenv("BENCH_COOKIE"),
  }, bodies[position])
end
