-- get_room_info of one existing room: a pure read (the same request every time).
-- Usage: wrk -t1 -c64 -d10s --latency -s bench/wrk/get_room_info.lua '<url>' -- <prefix>
-- Environment: BENCH_ROOM_ID (default "bench-room").
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

wrk.body = string.format('{"RoomId":"%s"}', os.getenv("BENCH_ROOM_ID") or "bench-room")
