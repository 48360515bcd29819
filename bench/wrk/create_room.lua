-- create_room with a new RoomId on every request (<prefix>-<wrk thread>-<counter>), so every
-- request really creates a room and writes it durably.
-- Usage: wrk -t1 -c64 -d10s --latency -s bench/wrk/create_room.lua '<url>' -- <prefix>
-- The prefix must differ between runs against the same server (warm-up, measurement, ...).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

function body_for(n)
  return string.format(
      '{"RoomInfo":{"RoomId":"%s-%d-%d","RoomType":"Live","SeatTemplate":"VideoDynamicGrid9Seats"}}',
      prefix, id, n)
end

request = dynamic_request
