// Placement by room: which room a REST call is about (api::room_of_call), read as the command's
// handler reads it, so that the call reaches the host of that room's slot.
#include "api/room_of_call.h"

#include <gtest/gtest.h>

namespace liveroom::api {
namespace {

TEST(RoomOfCall, RoomCommandsNameTheirRoom) {
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/destroy_room", R"({"RoomId":"r1"})"), "r1");
  EXPECT_EQ(room_of_call("/v4/room_engine_http_mic/lock_seat", R"({"RoomId":"r2","Index":1})"),
            "r2");
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/create_room",
                         R"({"RoomInfo":{"RoomId":"r3","RoomType":"Live"}})"),
            "r3");
  EXPECT_EQ(
      room_of_call("/v4/live_engine_http_srv/update_room_info", R"({"RoomInfo":{"RoomId":"r4"}})"),
      "r4");
  EXPECT_EQ(room_of_call("/v4/group_open_http_svc/send_group_msg", R"({"GroupId":"r5"})"), "r5");
  // As the router parses bodies: comments and trailing commas (Tencent's samples carry them).
  EXPECT_EQ(
      room_of_call("/v4/live_engine_http_srv/get_room_info", "{\"RoomId\": \"r6\", // the room\n}"),
      "r6");
}

TEST(RoomOfCall, BattlesGoByTheirAskingRoomOrTheirId) {
  EXPECT_EQ(room_of_call("/v4/live_engine_http_pk/create_battle",
                         R"({"FromRoomId":"a","ToRoomIdList":["b"]})"),
            "a");
  EXPECT_EQ(room_of_call("/v4/live_engine_http_pk/end_battle", R"({"BattleId":"battle_x"})"),
            "battle_x");
  EXPECT_EQ(room_of_call("/v4/live_engine_http_pk/get_battle_info",
                         R"({"BattleId":"battle_y","RoomId":"a"})"),
            "battle_y");
  EXPECT_EQ(room_of_call("/v4/live_engine_http_pk/get_battle_info", R"({"RoomId":"a"})"), "a");
}

TEST(RoomOfCall, AppWideCallsAndUnreadableRoomsNameNone) {
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/get_room_list", R"({"RoomId":"r"})"),
            std::nullopt);
  EXPECT_EQ(room_of_call("/v4/im_open_login_svc/account_import", R"({"UserID":"u"})"),
            std::nullopt);
  EXPECT_EQ(room_of_call("/v4/live_config/set_callback", R"({"RoomId":"r"})"), std::nullopt);
  // The handler answers these with the error a single node gives, on the app's slot 0 host.
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/destroy_room", R"({"RoomId":7})"), std::nullopt);
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/destroy_room", R"({"RoomId":""})"),
            std::nullopt);
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/destroy_room", "not json"), std::nullopt);
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv/destroy_room", "[]"), std::nullopt);
  EXPECT_EQ(room_of_call("/healthz", ""), std::nullopt);
  EXPECT_EQ(room_of_call("/v4/live_engine_http_srv", R"({"RoomId":"r"})"), std::nullopt);
}

}  // namespace
}  // namespace liveroom::api
