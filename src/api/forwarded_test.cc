#include "api/forwarded.h"

#include <gtest/gtest.h>

namespace carrel {
namespace {

std::vector<AddressRange> Ranges(std::initializer_list<const char*> cidrs) {
  std::vector<AddressRange> out;
  for (const char* c : cidrs) {
    auto r = AddressRange::Parse(c);
    EXPECT_TRUE(r.ok()) << c;
    if (r.ok()) out.push_back(*r);
  }
  return out;
}

TEST(AddressRangeTest, ParsesBlocksAndMatchesTheirAddresses) {
  auto ten = AddressRange::Parse("10.0.0.0/8");
  ASSERT_TRUE(ten.ok());
  EXPECT_TRUE(ten->Contains("10.200.3.4"));
  EXPECT_TRUE(ten->Contains("::ffff:10.1.2.3"));  // IPv4-mapped, as a dual-stack socket says
  EXPECT_FALSE(ten->Contains("11.0.0.1"));
  EXPECT_FALSE(ten->Contains("not an address"));
  auto one = AddressRange::Parse("127.0.0.1");
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(one->Contains("127.0.0.1"));
  EXPECT_FALSE(one->Contains("127.0.0.2"));
  auto v6 = AddressRange::Parse("fd00::/8");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->Contains("fd12:3456::1"));
  EXPECT_FALSE(v6->Contains("fe80::1"));
  auto all = AddressRange::Parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->Contains("203.0.113.5"));
  auto host_bits = AddressRange::Parse("192.168.7.9/16");
  ASSERT_TRUE(host_bits.ok());
  EXPECT_TRUE(host_bits->Contains("192.168.200.1"));
}

TEST(AddressRangeTest, RefusesWhatIsNotABlock) {
  for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/33", "fd00::/129", "10.0.0/8", "example.org",
                          "10.0.0.0/8/8", "10.0.0.0/-1", "10.0.0.0/x"}) {
    auto r = AddressRange::Parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ResolveClientTest, AnUntrustedPeerIsTheClientWhateverItSays) {
  std::map<std::string, std::string> headers = {{"x-forwarded-for", "198.51.100.1"},
                                                {"x-forwarded-proto", "https"},
                                                {"forwarded", "for=198.51.100.2;proto=https"}};
  ClientOrigin o = ResolveClient("203.0.113.9", false, headers, Ranges({"10.0.0.0/8"}));
  EXPECT_EQ(o.address, "203.0.113.9");
  EXPECT_FALSE(o.https);
  o = ResolveClient("::ffff:203.0.113.9", true, headers, {});
  EXPECT_EQ(o.address, "203.0.113.9");
  EXPECT_TRUE(o.https);
}

TEST(ResolveClientTest, ATrustedProxyNamesTheClientFromTheRight) {
  auto trusted = Ranges({"10.0.0.0/8"});
  // The client put a forged address first; the proxy appended the real one.
  std::map<std::string, std::string> xff = {{"x-forwarded-for", "1.2.3.4, 198.51.100.7"},
                                            {"x-forwarded-proto", "https"}};
  ClientOrigin o = ResolveClient("10.0.0.5", false, xff, trusted);
  EXPECT_EQ(o.address, "198.51.100.7");
  EXPECT_TRUE(o.https);
  // Two trusted proxies in a row: the first untrusted address from the right.
  xff = {{"x-forwarded-for", "1.2.3.4, 198.51.100.7, 10.0.0.9"}};
  o = ResolveClient("10.0.0.5", false, xff, trusted);
  EXPECT_EQ(o.address, "198.51.100.7");
  EXPECT_FALSE(o.https);
  // RFC 7239, with quoting, ports and IPv6; Forwarded wins over X-Forwarded-For.
  std::map<std::string, std::string> fwd = {
      {"forwarded", "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\";proto=https"},
      {"x-forwarded-for", "198.51.100.1"}};
  o = ResolveClient("10.1.1.1", false, fwd, trusted);
  EXPECT_EQ(o.address, "2001:db8:cafe::17");
  EXPECT_TRUE(o.https);
  // "unknown" or an obfuscated node: the last address known (the proxy) stands.
  fwd = {{"forwarded", "for=unknown;proto=https"}};
  o = ResolveClient("10.1.1.1", false, fwd, trusted);
  EXPECT_EQ(o.address, "10.1.1.1");
  EXPECT_TRUE(o.https);
  fwd = {{"forwarded", "for=_hidden"}};
  EXPECT_EQ(ResolveClient("10.1.1.1", false, fwd, trusted).address, "10.1.1.1");
  // No forwarding headers: the proxy is the client.
  o = ResolveClient("10.1.1.1", false, {}, trusted);
  EXPECT_EQ(o.address, "10.1.1.1");
  EXPECT_FALSE(o.https);
  // Garbage in the header is no address.
  xff = {{"x-forwarded-for", "<script>, ,,"}};
  EXPECT_EQ(ResolveClient("10.1.1.1", false, xff, trusted).address, "10.1.1.1");
}

}  // namespace
}  // namespace carrel
