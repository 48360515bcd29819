// A gift as clients see it (the gateway's gift list and Gift events): its default texts, what it
// costs and shows, and its texts in every language set, for the client to pick its own.
#pragma once

#include "base/json_writer.h"
#include "domain/gift.h"

namespace liveroom::domain {

// Writes the gift as one JSON object.
void write_gift(JsonWriter& w, const Gift& gift);
// LanguageList: [{Language, Name, Desc}], a gift's or a category's texts.
void write_language_list(JsonWriter& w,
                         const std::map<std::string, LocalText, std::less<>>& languages);

}  // namespace liveroom::domain
