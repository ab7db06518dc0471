// The XML parser reads what S3 servers send and refuses everything else,
// within bounds.
#include "store/s3/xml.h"

#include <string>

#include <gtest/gtest.h>

namespace hx::s3 {
namespace {

TEST(Xml, ParsesAListObjectsV2Page) {
  const std::string page =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<Name>bucket</Name><Prefix>v/</Prefix><KeyCount>2</KeyCount>"
      "<IsTruncated>true</IsTruncated>"
      "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
      "<Contents><Key>v/a&amp;b</Key><Size>12</Size><ETag>&quot;x&quot;</ETag></Contents>"
      "<Contents><Key>v/c</Key><Size>0</Size></Contents>"
      "</ListBucketResult>";
  auto root = ParseXml(page);
  ASSERT_TRUE(root.ok()) << root.error().ToShortString();
  EXPECT_EQ(root->name, "ListBucketResult");
  EXPECT_EQ(root->ChildText("IsTruncated"), "true");
  EXPECT_EQ(root->ChildText("NextContinuationToken"),
            "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  const auto contents = root->Children("Contents");
  ASSERT_EQ(contents.size(), 2u);
  EXPECT_EQ(contents[0]->ChildText("Key"), "v/a&b");
  EXPECT_EQ(contents[0]->ChildText("ETag"), "\"x\"");
  EXPECT_EQ(contents[1]->ChildText("Size"), "0");
  EXPECT_EQ(root->ChildText("Missing"), "");
  EXPECT_EQ(root->Child("Missing"), nullptr);
}

TEST(Xml, DecodesCharacterReferencesToUtf8) {
  auto root = ParseXml("<a>&#65;&#x42;&#xe9;&#x1F600;&lt;&gt;&apos;</a>");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->text, "AB\xc3\xa9\xf0\x9f\x98\x80<>'");
}

TEST(Xml, AcceptsCommentsSelfClosingTagsAndAttributes) {
  auto root = ParseXml("<!-- hi --><r a='1' b=\"&amp;\"><e/><e x=\"y\" /><!-- c --></r>\n");
  ASSERT_TRUE(root.ok()) << root.error().ToShortString();
  EXPECT_EQ(root->Children("e").size(), 2u);
}

TEST(Xml, RefusesMalformedDocumentsAsCorrupt) {
  for (const char* bad : {"", "text", "<a>", "<a></b>", "<a><b></a></b>", "<a>&bogus;</a>",
                          "<a>&#0;</a>", "<a>&#xD800;</a>", "<a>&#x110000;</a>", "<a>&#;</a>",
                          "<a></a><b></b>", "<a></a>trailing", "<!DOCTYPE a><a></a>",
                          "<a><![CDATA[x]]></a>", "<a><?pi x?></a>", "<a b=1></a>",
                          "<a b='1'c='2'></a>", "<a b='<'></a>", "<1a></1a>", "<a", "<a/",
                          "<!-- open", "<a><!-- open</a>", "<?xml version='1.0'"}) {
    auto root = ParseXml(bad);
    ASSERT_FALSE(root.ok()) << bad;
    EXPECT_EQ(root.error().category, Category::kCorrupt) << bad;
    EXPECT_EQ(root.error().code, SyncCode::kStateFailed);
  }
}

TEST(Xml, BoundsNestingDepth) {
  std::string deep;
  for (std::size_t i = 0; i < kMaxXmlDepth; ++i) deep += "<a>";
  for (std::size_t i = 0; i < kMaxXmlDepth; ++i) deep += "</a>";
  EXPECT_TRUE(ParseXml(deep).ok());
  const std::string deeper = "<a>" + deep + "</a>";
  auto root = ParseXml(deeper);
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message.find("deeply"), std::string::npos);
  // A million open tags fail fast rather than recursing a million deep.
  std::string hostile;
  for (int i = 0; i < 1'000'000; ++i) hostile += "<a>";
  EXPECT_FALSE(ParseXml(hostile).ok());
}

TEST(Xml, BoundsTheNumberOfElements) {
  std::string many = "<r>";
  for (std::size_t i = 0; i < kMaxXmlElements; ++i) many += "<e/>";
  many += "</r>";
  auto root = ParseXml(many);
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message.find("too many"), std::string::npos);
}

TEST(Xml, EscapeRoundTripsThroughTheParser) {
  const std::string text = "a&b<c>d\"e'f \"etag\"";
  auto root = ParseXml("<x>" + XmlEscape(text) + "</x>");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->text, text);
}

}  // namespace
}  // namespace hx::s3
