// Copyright the gem authors. The one CSV reader (gem/csv.h): RFC 4180 by default, and the
// leniencies the tree and matrix formats ask for.
#include "gem/csv.h"

#include <gtest/gtest.h>

#include <sstream>

namespace gem::csv {
namespace {

std::vector<Record> MustParse(std::string_view text, const ReadOptions& options = {}) {
  std::vector<Record> r;
  Status st = Parse(text, "t.csv", &r, options);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return r;
}

using Fields = std::vector<std::string>;

TEST(Csv, Rfc4180QuotesCommasNewlinesAndDoubledQuotes) {
  auto r = MustParse("a,\"b,c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x\n\nlast");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].fields, (Fields{"a", "b,c", "say \"hi\""}));
  EXPECT_EQ(r[0].line, 1u);
  EXPECT_EQ(r[1].fields, (Fields{"two\nlines", "x"}));
  EXPECT_EQ(r[1].line, 2u);
  EXPECT_EQ(r[2].fields, Fields{"last"});
  EXPECT_EQ(r[2].line, 5u) << "the empty line is skipped but counted";
}

TEST(Csv, BlanksAreDataUnlessTrimmed) {
  EXPECT_EQ(MustParse(" a , b\t")[0].fields, (Fields{" a ", " b\t"}));
  EXPECT_EQ(MustParse(" a , b\t", {.trim = true})[0].fields, (Fields{"a", "b"}));
  // Trimmed: blanks around quotes go, blanks inside stay.
  EXPECT_EQ(MustParse("  \" x \"  ,y\r\n", {.trim = true})[0].fields, (Fields{" x ", "y"}));
  EXPECT_TRUE(MustParse(" \t \n", {.trim = true}).empty());
}

TEST(Csv, CommentLinesWhenAsked) {
  const std::string text = "# a \"comment, with quotes\n  # another\nh1,h2\n1,2\n";
  auto r = MustParse(text, {.trim = true, .comments = true});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].fields, (Fields{"h1", "h2"}));
  EXPECT_EQ(r[0].line, 3u);
  auto raw = MustParse(text);
  ASSERT_EQ(raw.size(), 4u) << "without the option '#' is data";
  EXPECT_EQ(raw[0].fields, (Fields{"# a \"comment", " with quotes"}));
}

TEST(Csv, ByteOrderMarkIsNotData) {
  EXPECT_EQ(MustParse("\xEF\xBB\xBFid,x\n")[0].fields, (Fields{"id", "x"}));
}

TEST(Csv, ErrorsNameTheLine) {
  std::vector<Record> r;
  Status st = Parse("a,b\n\"open,\nnever closed", "f.csv", &r);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.ToString().find("f.csv:2"), std::string::npos) << st.ToString();
  EXPECT_NE(st.ToString().find("unterminated"), std::string::npos) << st.ToString();
  st = Parse("a\n\"q\"x,b\n", "f.csv", &r);
  EXPECT_NE(st.ToString().find("f.csv:2: text after a closing quote"), std::string::npos)
      << st.ToString();
}

TEST(Csv, AppendFieldRoundTrips) {
  const Fields fields = {"plain", "com,ma", "quo\"te", "new\nline", " lead", "trail\t", ""};
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) line += ',';
    AppendField(&line, fields[i]);
  }
  std::istringstream in(line + "\n");
  std::vector<Record> r;
  ASSERT_TRUE(ReadAll(in, "round", &r).ok());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].fields, fields);
}

}  // namespace
}  // namespace gem::csv
