// StopStringFilter: stop strings matched on decoded text, across piece boundaries, with text that
// may start a stop string held back from the stream until it is known not to.
#include "generation/stop_strings.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vlmrt::gen {
namespace {

// Pushes each piece; returns everything released, finishing when no stop matched.
std::string run(StopStringFilter& filter, const std::vector<std::string>& pieces) {
  std::string released;
  for (const std::string& p : pieces) {
    const auto update = filter.push(p);
    released += update.release;
    if (update.stopped) return released;
  }
  released += filter.finish().release;
  return released;
}

TEST(StopStrings, CutsTextBeforeAStopStringInsideOnePiece) {
  StopStringFilter filter({"STOP"});
  EXPECT_EQ(run(filter, {"Hello ", "xSTOPy", "more"}), "Hello x");
  EXPECT_TRUE(filter.stopped());
  EXPECT_EQ(filter.text(), "Hello x");
}

TEST(StopStrings, MatchesAcrossPieces) {
  StopStringFilter filter({"STOP"});
  const auto a = filter.push("Hello wo");
  EXPECT_EQ(a.release, "Hello wo");
  const auto b = filter.push("rld ST");
  EXPECT_EQ(b.release, "rld ");  // "ST" might start "STOP": held back
  const auto c = filter.push("O");
  EXPECT_EQ(c.release, "");
  const auto d = filter.push("P!");
  EXPECT_TRUE(d.stopped);
  EXPECT_EQ(d.release, "");
  EXPECT_EQ(filter.text(), "Hello world ");
  EXPECT_EQ(filter.push("after").release, "");
}

TEST(StopStrings, ReleasesHeldTextThatTurnsOutNotToBeAStop) {
  StopStringFilter filter({"STOP"});
  EXPECT_EQ(filter.push("a ST").release, "a ");
  EXPECT_EQ(filter.push("ART").release, "START");
  EXPECT_EQ(filter.push("S").release, "");
  EXPECT_EQ(filter.finish().release, "S");  // end of stream: the held "S" was not a stop
  EXPECT_FALSE(filter.stopped());
  EXPECT_EQ(filter.text(), "a STARTS");
}

TEST(StopStrings, EarliestOfSeveralStopStringsWins) {
  StopStringFilter filter({"world", "lo w"});
  EXPECT_EQ(run(filter, {"hello world"}), "hel");
}

TEST(StopStrings, FindsOverlappingSelfSimilarStop) {
  StopStringFilter filter({"aab"});
  EXPECT_EQ(run(filter, {"x", "a", "a", "a", "b", "c"}), "xa");
}

TEST(StopStrings, HoldsBackMultiByteCharactersWhole) {
  StopStringFilter filter({"é!"});
  std::vector<std::string> released;
  for (const std::string p : {"caf", "é", "?", "é", "!"})
    released.emplace_back(filter.push(p).release);
  EXPECT_EQ(released, (std::vector<std::string>{"caf", "", "é?", "", ""}));
  EXPECT_EQ(filter.text(), "café?");
}

TEST(StopStrings, WithoutStopStringsReleasesEverythingAtOnce) {
  StopStringFilter filter({});
  EXPECT_EQ(filter.push("abc").release, "abc");
  EXPECT_EQ(filter.finish().release, "");
  StopStringFilter ignores_empty({""});
  EXPECT_EQ(ignores_empty.push("abc").release, "abc");
}

}  // namespace
}  // namespace vlmrt::gen
