-- update_room_info of one existing room: every request sets a value of ActivityStatus that no
-- earlier request of this run set, so each one is a real change and a durable write.
-- Usage: wrk -t1 -c64 -d10s --latency -s bench/wrk/update_room_info.lua '<url>' -- <prefix>
-- Environment: BENCH_ROOM_ID (default "bench-room").
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local room = os.getenv("BENCH_ROOM_ID") or "bench-room"

function body_for(n)
  -- Distinct across requests and wrk threads (up to 64 threads).
  local status = (n * 64 + id) % 2147483647
  return string.format('{"RoomInfo":{"RoomId":"%s","RoomName":"bench","ActivityStatus":%d}}',
                       room, status)
end

request = dynamic_request
