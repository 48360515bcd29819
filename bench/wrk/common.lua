-- Shared by the liveroom wrk scripts (bench/wrk/<command>.lua load it with dofile).
--
-- Every script POSTs a JSON body with Content-Type application/json to the URL given to wrk
-- (the query string carries sdkappid, identifier, usersig, random, contenttype).
--
-- Script arguments (after `--` on the wrk command line):
--   args[1]  a prefix that makes generated values unique per wrk run (default "r")
-- Environment:
--   BENCH_CHECK_REPLIES=1  parse every reply and count the ones whose body lacks
--                          "ErrorCode":0; done() prints "bench-check: replies=N bad=M" and one
--                          bad sample. Costs wrk some CPU, so it is off by default.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  prefix = args[1] or "r"
  counter = 0
  replies = 0
  bad = 0
  sample = ""
end

-- A request with a per-request body; `body_for(n)` is defined by the command's script.
function dynamic_request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, body_for(counter))
end

if os.getenv("BENCH_CHECK_REPLIES") == "1" then
  function response(status, headers, body)
    replies = replies + 1
    if status ~= 200 or not string.find(body, '"ErrorCode":0', 1, true) then
      bad = bad + 1
      if sample == "" then sample = status .. " " .. string.sub(body, 1, 300) end
    end
  end

  function done(summary, latency, requests)
    local total_replies, total_bad, first = 0, 0, ""
    for _, t in ipairs(threads) do
      total_replies = total_replies + t:get("replies")
      total_bad = total_bad + t:get("bad")
      if first == "" then first = t:get("sample") end
    end
    io.write(string.format("bench-check: replies=%d bad=%d\n", total_replies, total_bad))
    if first ~= "" then io.write("bench-check-sample: " .. first .. "\n") end
  end
end
