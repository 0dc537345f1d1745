-- wrk script for bench/tiles.py: cycle through the request paths of a file (one per line),
-- each thread starting at its own place; count response body bytes and non-2xx statuses,
-- and print one JSON line (BENCH_JSON ...) with the totals and latency percentiles.
-- Usage: wrk ... -s cycle.lua URL -- PATHS_FILE [EXTRA_HEADER_NAME EXTRA_HEADER_VALUE]

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  if args[2] then wrk.headers[args[2]] = args[3] end
  nthreads = 0
  i = nil
  bodies, responses, non2xx = 0, 0, 0
end

function request()
  if i == nil then  -- first call: setup() has run, so thread_no is known
    i = ((thread_no or 0) * 7919) % #paths
  end
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function response(status, headers, body)
  responses = responses + 1
  if body then bodies = bodies + #body end
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local b, r, n = 0, 0, 0
  for _, t in ipairs(threads) do
    b = b + t:get("bodies"); r = r + t:get("responses"); n = n + t:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "wire_bytes": %d, "body_bytes": %d, ' ..
    '"responses": %d, "non2xx": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "latency_mean_us": %.1f, "latency_max_us": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, b, r, n, e.connect, e.read, e.write,
    e.timeout, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99)))
end
