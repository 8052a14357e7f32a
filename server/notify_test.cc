#include "server/notify.h"

#include <doctest/doctest.h>

namespace rd {
namespace {

std::string normalized(std::string_view text) {
  uint32_t flags = 0;
  REQUIRE(parse_notify_flags(text, &flags));
  return format_notify_flags(flags);
}

TEST_CASE("notify-keyspace-events reads back in Redis 7.0's normalized form") {
  CHECK(normalized("") == "");
  CHECK(normalized("KEA") == "AKE");
  CHECK(normalized("AKE") == "AKE");
  CHECK(normalized("Ex") == "xE");
  CHECK(normalized("KEAm") == "AKEm");
  CHECK(normalized("KEAn") == "AKE");  // A hides n, as in Redis
  CHECK(normalized("Kgn") == "gnK");
  CHECK(normalized("EKmn") == "nKEm");
  CHECK(normalized("KE$lshzxetd") == "$lshzxetdKE");
  CHECK(normalized("Kg$lshzxetdmn") == "AKm");
  CHECK(normalized(std::string_view("KEA\0q", 5)) == "AKE");  // a C string in Redis
}

TEST_CASE("notify flags: classes, A, and unknown characters") {
  uint32_t flags = 0;
  CHECK_FALSE(parse_notify_flags("KEAq", &flags));
  CHECK_FALSE(parse_notify_flags("x y", &flags));
  REQUIRE(parse_notify_flags("A", &flags));
  CHECK((flags & kNotifyAll) == kNotifyAll);
  CHECK((flags & notify_bit(NotifyClass::kKeyMiss)) == 0);
  CHECK((flags & notify_bit(NotifyClass::kNew)) == 0);
  REQUIRE(parse_notify_flags("KEAn", &flags));
  CHECK((flags & notify_bit(NotifyClass::kNew)) != 0);
  // Nothing is published without K or E, whatever the classes.
  CHECK(effective_notify_flags(kNotifyAll) == 0);
  CHECK(effective_notify_flags(kNotifyAll | notify_bit(NotifyClass::kKeyevent)) != 0);
}

}  // namespace
}  // namespace rd
