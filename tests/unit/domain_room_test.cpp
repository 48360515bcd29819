// The room rules that every entry point shares live in domain/room: identifiers, seat templates,
// partial updates and metadata limits. These tests pin each rule at its boundary, because an
// off-by-one here is an off-by-one in every API that reaches it.
#include "domain/room.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace liveroom::domain {
namespace {

using Entries = std::vector<MetadataEntry>;

// ----- check_room_id / check_user_id -------------------------------------------------------

TEST(CheckRoomId, AcceptsOneTo48PrintableBytes) {
  EXPECT_TRUE(check_room_id("a", "RoomId"));
  EXPECT_TRUE(check_room_id(std::string(48, 'r'), "RoomId"));
  // The whole printable range is allowed, space and '~' (0x7e) included.
  EXPECT_TRUE(check_room_id("live room ~!@#$%^&*()-_=+", "RoomId"));
  EXPECT_TRUE(check_room_id(" ", "RoomId"));
}

TEST(CheckRoomId, RejectsEmptyTooLongAndNonPrintable) {
  auto empty = check_room_id("", "RoomInfo.RoomId");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Code::kInvalidParameter);
  EXPECT_NE(empty.error().info.find("RoomInfo.RoomId"), std::string::npos);

  auto long_id = check_room_id(std::string(49, 'r'), "RoomId");
  ASSERT_FALSE(long_id);
  EXPECT_EQ(long_id.error().code, Code::kInvalidParameter);
  EXPECT_NE(long_id.error().info.find("48"), std::string::npos);

  // Just below and just above the printable range.
  for (char c : {'\x1f', '\x7f', '\0', '\n'}) {
    auto bad = check_room_id(std::string("room") + c, "RoomId");
    ASSERT_FALSE(bad) << static_cast<int>(c);
    EXPECT_EQ(bad.error().code, Code::kInvalidParameter);
  }
  // UTF-8 is not printable ASCII either.
  EXPECT_FALSE(check_room_id("r\xc3\xa9", "RoomId"));
}

TEST(CheckUserId, AcceptsOneTo32Bytes) {
  EXPECT_TRUE(check_user_id("u", "UserID"));
  EXPECT_TRUE(check_user_id(std::string(32, 'u'), "UserID"));

  auto long_id = check_user_id(std::string(33, 'u'), "UserID");
  ASSERT_FALSE(long_id);
  EXPECT_EQ(long_id.error().code, Code::kInvalidParameter);
  EXPECT_NE(long_id.error().info.find("UserID"), std::string::npos);

  auto empty = check_user_id("", "UserID");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Code::kInvalidParameter);
}

// ----- find_seat_template ------------------------------------------------------------------

struct TemplateCase {
  std::string_view name;
  uint32_t seats;
  bool voice;
};

TEST(FindSeatTemplate, KnowsEveryCanonicalName) {
  const TemplateCase cases[] = {
      {"VideoDynamicGrid9Seats", 9, false},
      {"VideoFixedGrid9Seats", 9, false},
      {"VideoLeftFocus9Seats", 9, false},
      {"VideoUniformGrid9Seats", 9, false},
      {"VideoDynamicFloat7Seats", 7, false},
      {"VideoFixedFloat7Seats", 7, false},
      {"VideoLandscape4Seats", 4, false},
      {"AudioSalon", 0, true},
      {"Karaoke", 0, true},
  };
  for (const auto& c : cases) {
    auto t = find_seat_template(c.name);
    ASSERT_TRUE(t) << c.name;
    EXPECT_EQ(t->name, c.name);
    EXPECT_EQ(t->fixed_seats, c.seats) << c.name;
    EXPECT_EQ(t->voice, c.voice) << c.name;
  }
}

TEST(FindSeatTemplate, ConsoleSpellingMapsToCanonicalName) {
  auto t = find_seat_template(std::string_view("VideoLandscape4Seat"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "VideoLandscape4Seats");
  EXPECT_EQ(t->fixed_seats, 4u);
}

TEST(FindSeatTemplate, NumericSdkIds) {
  const std::pair<int64_t, std::string_view> cases[] = {
      {600, "VideoDynamicGrid9Seats"}, {601, "VideoDynamicFloat7Seats"},
      {800, "VideoFixedGrid9Seats"},   {801, "VideoFixedFloat7Seats"},
      {200, "VideoLandscape4Seats"},
  };
  for (const auto& [id, name] : cases) {
    auto t = find_seat_template(id);
    ASSERT_TRUE(t) << id;
    EXPECT_EQ(t->name, name);
  }
}

TEST(FindSeatTemplate, UnknownNamesAndIds) {
  EXPECT_FALSE(find_seat_template(std::string_view("")));
  EXPECT_FALSE(find_seat_template(std::string_view("videodynamicgrid9seats")));  // case matters
  EXPECT_FALSE(find_seat_template(std::string_view("AudioSalons")));
  EXPECT_FALSE(find_seat_template(std::string_view("VideoLandscape4Seatss")));
  EXPECT_FALSE(find_seat_template(int64_t{0}));
  EXPECT_FALSE(find_seat_template(int64_t{999}));
}

// Templates without an SDK id carry -1 as "none" in the table; -1 itself is not an SDK id.
TEST(FindSeatTemplate, MinusOneIsNotAnId) {
  EXPECT_FALSE(find_seat_template(int64_t{-1}));
}

// ----- apply_patch -------------------------------------------------------------------------

Room base_room() {
  Room r;
  r.room_id = "live-1";
  r.owner = "anchor";
  r.name = "live-1";
  r.create_time = 1'700'000'000;
  return r;
}

TEST(ApplyPatch, PartialUpdateLeavesOtherFieldsAlone) {
  Room r = base_room();
  r.notice = "old notice";
  r.cover_url = "https://c/old.png";
  r.category = {1, 2};
  RoomPatch p;
  p.name = "Evening show";
  p.max_member_count = 300;
  EXPECT_TRUE(apply_patch(r, p));

  EXPECT_EQ(r.name, "Evening show");
  EXPECT_EQ(r.max_member_count, 300);
  // Untouched: what was there stays, defaults stay defaults.
  EXPECT_EQ(r.notice, "old notice");
  EXPECT_EQ(r.cover_url, "https://c/old.png");
  EXPECT_EQ(r.category, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r.owner, "anchor");
  EXPECT_EQ(r.create_time, 1'700'000'000);
  EXPECT_EQ(r.seat_count, 0u);
  EXPECT_EQ(r.seat_template, "");
  EXPECT_TRUE(r.is_public_visible);
  EXPECT_FALSE(r.is_message_disabled);
}

TEST(ApplyPatch, EveryFieldIsApplied) {
  Room r = base_room();
  RoomPatch p;
  p.take_seat_mode = TakeSeatMode::kApplyToTake;
  p.is_message_disabled = true;
  p.is_public_visible = false;
  p.is_like_enabled = false;
  p.is_gift_enabled = false;
  p.is_unlimited_room_enabled = true;
  p.keep_owner_on_seat = true;
  p.cover_url = "c";
  p.background_url = "b";
  p.notice = "n";
  p.custom_info = "{}";
  p.category = std::vector<int64_t>{7};
  p.activity_status = -3;
  EXPECT_TRUE(apply_patch(r, p));
  EXPECT_EQ(r.take_seat_mode, TakeSeatMode::kApplyToTake);
  EXPECT_TRUE(r.is_message_disabled);
  EXPECT_FALSE(r.is_public_visible);
  EXPECT_FALSE(r.is_like_enabled);
  EXPECT_FALSE(r.is_gift_enabled);
  EXPECT_TRUE(r.is_unlimited_room_enabled);
  EXPECT_TRUE(r.keep_owner_on_seat);
  EXPECT_EQ(r.cover_url, "c");
  EXPECT_EQ(r.background_url, "b");
  EXPECT_EQ(r.notice, "n");
  EXPECT_EQ(r.custom_info, "{}");
  EXPECT_EQ(r.category, std::vector<int64_t>{7});
  EXPECT_EQ(r.activity_status, -3);
}

TEST(ApplyPatch, EmptyNameResetsToRoomId) {
  Room r = base_room();
  r.name = "Custom title";
  RoomPatch p;
  p.name = "";
  EXPECT_TRUE(apply_patch(r, p));
  EXPECT_EQ(r.name, "live-1");
}

TEST(ApplyPatch, VideoTemplateFixesSeatCount) {
  Room r = base_room();
  RoomPatch p;
  p.seat_template = find_seat_template(std::string_view("VideoDynamicFloat7Seats"));
  p.max_seat_count = 3;  // ignored: video layouts have a fixed count
  EXPECT_TRUE(apply_patch(r, p));
  EXPECT_EQ(r.seat_template, "VideoDynamicFloat7Seats");
  EXPECT_EQ(r.seat_count, 7u);

  // MaxSeatCount alone cannot change a video room's seats.
  RoomPatch only_count;
  only_count.max_seat_count = 2;
  EXPECT_FALSE(apply_patch(r, only_count));
  EXPECT_EQ(r.seat_count, 7u);

  // The alias is stored under its canonical name.
  RoomPatch landscape;
  landscape.seat_template = find_seat_template(std::string_view("VideoLandscape4Seat"));
  EXPECT_TRUE(apply_patch(r, landscape));
  EXPECT_EQ(r.seat_template, "VideoLandscape4Seats");
  EXPECT_EQ(r.seat_count, 4u);
}

TEST(ApplyPatch, VoiceTemplatesTakeMaxSeatCountWithDefault8) {
  for (std::string_view name : {"AudioSalon", "Karaoke"}) {
    Room r = base_room();
    RoomPatch p;
    p.seat_template = find_seat_template(name);
    EXPECT_TRUE(apply_patch(r, p));
    EXPECT_EQ(r.seat_template, name);
    EXPECT_EQ(r.seat_count, 8u) << name;

    RoomPatch with_count;
    with_count.seat_template = find_seat_template(name);
    with_count.max_seat_count = 16;
    EXPECT_TRUE(apply_patch(r, with_count));
    EXPECT_EQ(r.seat_count, 16u) << name;

    // On an existing voice room, MaxSeatCount alone resizes it.
    RoomPatch resize;
    resize.max_seat_count = 1;
    EXPECT_TRUE(apply_patch(r, resize));
    EXPECT_EQ(r.seat_count, 1u) << name;
  }
}

TEST(ApplyPatch, Gen1SeatsFollowIsSeatEnabledAndMaxSeatCount) {
  Room r = base_room();
  RoomPatch enable;
  enable.is_seat_enabled = true;
  EXPECT_TRUE(apply_patch(r, enable));
  EXPECT_EQ(r.seat_template, "");
  EXPECT_EQ(r.seat_count, 8u);

  RoomPatch resize;
  resize.max_seat_count = 5;
  EXPECT_TRUE(apply_patch(r, resize));
  EXPECT_EQ(r.seat_count, 5u);

  RoomPatch disable;
  disable.is_seat_enabled = false;
  disable.max_seat_count = 6;  // a disabled room has no seats whatever the count says
  EXPECT_TRUE(apply_patch(r, disable));
  EXPECT_EQ(r.seat_count, 0u);

  // MaxSeatCount without IsSeatEnabled on a seatless Gen1 room adds no seats.
  RoomPatch count_only;
  count_only.max_seat_count = 4;
  EXPECT_FALSE(apply_patch(r, count_only));
  EXPECT_EQ(r.seat_count, 0u);

  RoomPatch both;
  both.is_seat_enabled = true;
  both.max_seat_count = 12;
  EXPECT_TRUE(apply_patch(r, both));
  EXPECT_EQ(r.seat_count, 12u);
}

TEST(ApplyPatch, Gen1IsSeatEnabledIsIgnoredOnTemplateRooms) {
  Room r = base_room();
  RoomPatch p;
  p.seat_template = find_seat_template(std::string_view("VideoDynamicGrid9Seats"));
  ASSERT_TRUE(apply_patch(r, p));
  RoomPatch disable;
  disable.is_seat_enabled = false;
  EXPECT_FALSE(apply_patch(r, disable));
  EXPECT_EQ(r.seat_count, 9u);
}

TEST(ApplyPatch, ReturnsFalseWhenNothingChanges) {
  Room r = base_room();
  EXPECT_FALSE(apply_patch(r, RoomPatch{}));

  RoomPatch same;
  same.name = "live-1";  // already the name
  same.max_member_count = kDefaultMaxMemberCount;
  same.is_public_visible = true;
  same.take_seat_mode = TakeSeatMode::kFreeToTake;
  same.category = std::vector<int64_t>{};
  same.activity_status = 0;
  EXPECT_FALSE(apply_patch(r, same));

  RoomPatch reset_name;
  reset_name.name = "";  // the default is RoomId, which it already is
  EXPECT_FALSE(apply_patch(r, reset_name));

  RoomPatch voice;
  voice.seat_template = find_seat_template(std::string_view("Karaoke"));
  voice.max_seat_count = 6;
  ASSERT_TRUE(apply_patch(r, voice));
  EXPECT_FALSE(apply_patch(r, voice));
}

// ----- metadata ----------------------------------------------------------------------------

Entries numbered(int n, size_t value_bytes = 1) {
  Entries out;
  for (int i = 0; i < n; ++i)
    out.emplace_back("k" + std::to_string(i), std::string(value_bytes, 'v'));
  return out;
}

TEST(Metadata, TenKeysFitTheEleventhFailsAndChangesNothing) {
  Entries md;
  ASSERT_TRUE(upsert_metadata(md, numbered(10)));
  EXPECT_EQ(md.size(), 10u);
  const Entries before = md;

  auto r = upsert_metadata(md, {{"k10", "v"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidParameter);
  EXPECT_NE(r.error().info.find("Metadata"), std::string::npos);
  EXPECT_EQ(md, before);

  // Updating an existing key of a full room is still fine.
  EXPECT_TRUE(upsert_metadata(md, {{"k3", "new"}}));
  EXPECT_EQ(md[3].second, "new");
}

TEST(Metadata, ElevenKeysInOneCallFailAsAWhole) {
  Entries md{{"keep", "1"}};
  const Entries before = md;
  EXPECT_FALSE(upsert_metadata(md, numbered(10)));
  EXPECT_EQ(md, before);
}

TEST(Metadata, KeyLength) {
  Entries md;
  EXPECT_TRUE(upsert_metadata(md, {{std::string(50, 'k'), "v"}}));
  auto r = upsert_metadata(md, {{std::string(51, 'k'), "v"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidParameter);
  EXPECT_EQ(md.size(), 1u);

  auto empty = upsert_metadata(md, {{"", "v"}});
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, Code::kInvalidParameter);
  EXPECT_EQ(md.size(), 1u);
}

TEST(Metadata, ValueLength) {
  Entries md;
  EXPECT_TRUE(upsert_metadata(md, {{"a", std::string(2048, 'v')}}));
  EXPECT_TRUE(upsert_metadata(md, {{"empty", ""}}));  // an empty value is a value
  auto r = upsert_metadata(md, {{"b", std::string(2049, 'v')}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidParameter);
  EXPECT_EQ(md.size(), 2u);
}

TEST(Metadata, TotalOfAllValues) {
  // 8 × 2048 = 16384 exactly: allowed.
  Entries md;
  ASSERT_TRUE(upsert_metadata(md, numbered(8, 2048)));
  // One more byte anywhere is over.
  const Entries before = md;
  auto r = upsert_metadata(md, {{"extra", "x"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::kInvalidParameter);
  EXPECT_NE(r.error().info.find("16384"), std::string::npos);
  EXPECT_EQ(md, before);

  // Replacing a value counts the new size, not old + new.
  EXPECT_TRUE(upsert_metadata(md, {{"k0", std::string(2048, 'w')}}));
  EXPECT_TRUE(upsert_metadata(md, {{"k0", std::string(2047, 'w')}, {"extra", "x"}}));
}

TEST(Metadata, UpsertReplacesInPlaceKeepingInsertionOrder) {
  Entries md;
  ASSERT_TRUE(upsert_metadata(md, {{"b", "1"}, {"a", "2"}, {"c", "3"}}));
  ASSERT_TRUE(upsert_metadata(md, {{"a", "20"}, {"d", "4"}}));
  EXPECT_EQ(md, (Entries{{"b", "1"}, {"a", "20"}, {"c", "3"}, {"d", "4"}}));
  // Duplicates within one call: the last wins.
  ASSERT_TRUE(upsert_metadata(md, {{"c", "x"}, {"c", "y"}}));
  EXPECT_EQ(md[2], (MetadataEntry{"c", "y"}));
}

TEST(Metadata, DeleteRemovesPresentKeysOnly) {
  Entries md{{"a", "1"}, {"b", "2"}, {"c", "3"}};
  EXPECT_TRUE(delete_metadata(md, {"b", "missing"}));
  EXPECT_EQ(md, (Entries{{"a", "1"}, {"c", "3"}}));
  EXPECT_FALSE(delete_metadata(md, {"missing"}));
  EXPECT_FALSE(delete_metadata(md, {}));
  EXPECT_EQ(md.size(), 2u);
}

// ----- statistic_of ------------------------------------------------------------------------

TEST(StatisticOf, ViewersComeFromViewCountOtherTotalsAreZero) {
  Room r = base_room();
  r.view_count = 812;
  RoomStatistic s = statistic_of(r);
  EXPECT_EQ(s.total_viewers, 812);
  EXPECT_EQ(s.total_gifts_sent, 0);
  EXPECT_EQ(s.total_gift_coins, 0);
  EXPECT_EQ(s.total_unique_gift_senders, 0);
  EXPECT_EQ(s.total_likes_received, 0);
  EXPECT_EQ(s.total_msg_count, 0);
}

TEST(TakeSeatModeText, CanonicalStrings) {
  EXPECT_EQ(to_string(TakeSeatMode::kFreeToTake), "FreeToTake");
  EXPECT_EQ(to_string(TakeSeatMode::kApplyToTake), "ApplyToTake");
}

}  // namespace
}  // namespace liveroom::domain
