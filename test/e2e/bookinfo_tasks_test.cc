// Istio's Bookinfo tasks end to end (istio-features.md §3.0, §3.1): Bookinfo with its gateway and
// DestinationRules runs as a mesh on this machine; each case applies a task's YAML from
// samples/bookinfo/networking, checks what the task says a user sees through the ingress
// gateway, and removes it again. Request routing (also as a signed-in user), fault injection
// (delay, abort, details), request timeouts and traffic shifting.
#include <functional>
#include <map>

#include "test/e2e/bookinfo_page.h"
#include "test/e2e/mesh_fixture.h"
#include "test/support/process.h"

namespace meshd::e2e {
namespace {

const HttpHeaders kJason = {{"end-user", "jason"}};
constexpr auto kSettleBound = 40s;

class BookinfoTasks : public MeshSuite<BookinfoTasks> {
public:
  static std::vector<std::string> sampleFiles() {
    return {"bookinfo/platform/bookinfo.yaml", "bookinfo/networking/bookinfo-gateway.yaml",
            "bookinfo/networking/destination-rule-all.yaml"};
  }

protected:
  static std::string networking(const std::string& file) { return "bookinfo/networking/" + file; }

  static BookinfoPage page(const HttpHeaders& headers = {}) {
    return fetchProductPage(mesh().ingressPort(), headers);
  }

  // Polls until a page shows what a task expects (its config reached every proxy on the path,
  // and anything left from the previous case has drained); returns that page, or the last one.
  static BookinfoPage waitForPage(const HttpHeaders& headers,
                                  const std::function<bool(const BookinfoPage&)>& expected,
                                  bool& reached) {
    BookinfoPage last;
    reached = testing::waitFor(
        [&] {
          last = page(headers);
          return expected(last);
        },
        kSettleBound, 100ms);
    return last;
  }

  // How many of `count` pages each reviews version served ("" for pages without reviews); a page
  // that failed or whose stars contradict its version counts as "odd" and is described.
  struct Versions {
    std::map<std::string, int> counts;
    std::string oddPages;
    int operator[](const std::string& version) const {
      auto it = counts.find(version);
      return it == counts.end() ? 0 : it->second;
    }
  };
  static Versions versionsOf(int count, const HttpHeaders& headers = {}) {
    Versions versions;
    for (int i = 0; i < count; ++i) {
      const BookinfoPage served = page(headers);
      const bool consistent = served.reply.status == 200 && !served.mixedStarColors &&
                              served.reviewsVersion() == served.versionByStars();
      ++versions.counts[consistent ? served.reviewsVersion() : "odd"];
      if (!consistent) {
        versions.oddPages += "\n  " + served.summary();
      }
    }
    return versions;
  }

  // Polls batches of `count` pages until one batch satisfies `expected`; returns that batch, or
  // the last one.
  static Versions waitForVersions(int count, const std::function<bool(const Versions&)>& expected,
                                  bool& reached) {
    Versions batch;
    reached = testing::waitFor(
        [&] {
          batch = versionsOf(count);
          return expected(batch);
        },
        kSettleBound, 100ms);
    return batch;
  }
};

bool servedBy(const BookinfoPage& page, const std::string& version) {
  return page.reply.status == 200 && page.reviewsVersion() == version &&
         page.versionByStars() == version;
}

TEST_F(BookinfoTasks, IngressServesTheProductPage) {
  const BookinfoPage served = page();
  ASSERT_EQ(served.reply.status, 200) << served.reply.head << "\n" << served.reply.body;
  EXPECT_NE(served.reply.body.find("<title>Simple Bookstore App</title>"), std::string::npos);
  EXPECT_NE(served.reply.body.find("The Comedy of Errors"), std::string::npos);
  EXPECT_NE(served.reply.body.find("Book Details"), std::string::npos);
  EXPECT_NE(served.reply.body.find("Book Reviews"), std::string::npos);
  EXPECT_FALSE(served.detailsError || served.reviewsError) << served.summary();
  // The gateway routes only the paths of bookinfo-gateway.yaml to productpage.
  EXPECT_EQ(httpCall(mesh().ingressPort(), "GET", "/static/bookinfo.css").status, 200);
  EXPECT_EQ(httpCall(mesh().ingressPort(), "GET", "/api/v1/products").status, 200);
  EXPECT_EQ(httpCall(mesh().ingressPort(), "GET", "/health").status, 404);
}

TEST_F(BookinfoTasks, ReviewsRotateAcrossVersionsWithoutRoutingRules) {
  const Versions versions = versionsOf(30);
  EXPECT_GT(versions["v1"], 0);
  EXPECT_GT(versions["v2"], 0);
  EXPECT_GT(versions["v3"], 0);
  EXPECT_EQ(versions["v1"] + versions["v2"] + versions["v3"], 30)
      << "pages without reviews: " << versions[""] << versions.oddPages;
}

TEST_F(BookinfoTasks, RequestRoutingSendsEveryoneToV1) {
  TaskConfig task(mesh(), {networking("virtual-service-all-v1.yaml")});
  ASSERT_TRUE(task.status().ok()) << task.status();
  bool reached = false;
  const Versions settled = waitForVersions(
      5, [](const Versions& batch) { return batch["v1"] == 5; }, reached);
  ASSERT_TRUE(reached) << "v2: " << settled["v2"] << ", v3: " << settled["v3"] << settled.oddPages;
  const Versions versions = versionsOf(20);
  EXPECT_EQ(versions["v1"], 20) << "v2: " << versions["v2"] << ", v3: " << versions["v3"]
                                << versions.oddPages;
  EXPECT_EQ(versionsOf(5, kJason)["v1"], 5);
}

TEST_F(BookinfoTasks, RequestRoutingSendsJasonToV2) {
  TaskConfig task(mesh(), {networking("virtual-service-all-v1.yaml"),
                           networking("virtual-service-reviews-test-v2.yaml")});
  ASSERT_TRUE(task.status().ok()) << task.status();
  bool reached = false;
  const BookinfoPage first = waitForPage(
      kJason, [](const auto& p) { return servedBy(p, "v2"); }, reached);
  ASSERT_TRUE(reached) << first.summary();
  EXPECT_EQ(versionsOf(10, kJason)["v2"], 10) << "jason: black stars every time";
  EXPECT_EQ(versionsOf(10)["v1"], 10) << "anonymous: no stars";
  EXPECT_EQ(versionsOf(5, {{"end-user", "alice"}})["v1"], 5) << "another user: no stars";

  // Signing in as the task does: productpage adds end-user from its session cookie.
  const uint16_t port = mesh().ingressPort();
  const HttpReply login =
      httpCall(port, "POST", "/login", {{"content-type", "application/x-www-form-urlencoded"}},
               "username=jason");
  ASSERT_EQ(login.status, 302) << login.head;
  const std::string setCookie = login.header("set-cookie");
  ASSERT_TRUE(setCookie.starts_with("session=")) << login.head;
  const HttpHeaders withCookie = {{"cookie", setCookie.substr(0, setCookie.find(';'))}};
  const BookinfoPage signedIn = page(withCookie);
  EXPECT_EQ(signedIn.signedInAs, "jason") << signedIn.summary();
  EXPECT_TRUE(servedBy(signedIn, "v2")) << signedIn.summary();
  EXPECT_EQ(versionsOf(5, withCookie)["v2"], 5);
}

TEST_F(BookinfoTasks, FaultInjectionDelayMakesProductpageGiveUpOnReviews) {
  TaskConfig task(mesh(), {networking("virtual-service-all-v1.yaml"),
                           networking("virtual-service-reviews-test-v2.yaml"),
                           networking("virtual-service-ratings-test-delay.yaml")});
  ASSERT_TRUE(task.status().ok()) << task.status();
  bool reached = false;
  const BookinfoPage first = waitForPage(
      kJason, [](const auto& p) { return p.reviewsError; }, reached);
  ASSERT_TRUE(reached) << first.summary();
  // 7 s delay on ratings behind reviews v2 (10 s timeout): productpage's two 3 s attempts give up.
  const BookinfoPage jason = page(kJason);
  EXPECT_EQ(jason.reply.status, 200);
  EXPECT_TRUE(jason.reviewsError) << jason.summary();
  EXPECT_NE(jason.reply.body.find("Sorry, product reviews are currently unavailable"),
            std::string::npos);
  EXPECT_FALSE(jason.detailsError) << jason.summary();
  EXPECT_GE(jason.reply.elapsed, 5s) << jason.summary();
  EXPECT_LE(jason.reply.elapsed, 9s) << jason.summary();
  // Everyone else gets reviews v1, which does not call ratings: no delay, no error.
  const BookinfoPage anonymous = page();
  EXPECT_TRUE(servedBy(anonymous, "v1")) << anonymous.summary();
  EXPECT_LT(anonymous.reply.elapsed, 3s) << anonymous.summary();
}

TEST_F(BookinfoTasks, FaultInjectionAbortShowsRatingsUnavailable) {
  TaskConfig task(mesh(), {networking("virtual-service-all-v1.yaml"),
                           networking("virtual-service-reviews-test-v2.yaml"),
                           networking("virtual-service-ratings-test-abort.yaml")});
  ASSERT_TRUE(task.status().ok()) << task.status();
  bool reached = false;
  const BookinfoPage first = waitForPage(
      kJason, [](const auto& p) { return p.ratingsUnavailable; }, reached);
  ASSERT_TRUE(reached) << first.summary();
  const BookinfoPage jason = page(kJason);
  EXPECT_EQ(jason.reviewsVersion(), "v2") << jason.summary();
  EXPECT_TRUE(jason.ratingsUnavailable) << jason.summary();
  EXPECT_TRUE(jason.starColor.empty()) << jason.summary();
  EXPECT_FALSE(jason.reviewsError) << jason.summary();
  EXPECT_LT(jason.reply.elapsed, 3s) << "the abort answers at once: " << jason.summary();
  const BookinfoPage anonymous = page();
  EXPECT_TRUE(servedBy(anonymous, "v1")) << anonymous.summary();
  EXPECT_FALSE(anonymous.ratingsUnavailable);
}

TEST_F(BookinfoTasks, FaultInjectionAbortOnDetails) {
  TaskConfig task(mesh(), {networking("fault-injection-details-v1.yaml")});
  ASSERT_TRUE(task.status().ok()) << task.status();
  bool reached = false;
  const BookinfoPage first = waitForPage(
      {}, [](const auto& p) { return p.detailsError; }, reached);
  ASSERT_TRUE(reached) << first.summary();
  const BookinfoPage served = page();
  EXPECT_EQ(served.reply.status, 200);
  EXPECT_TRUE(served.detailsError) << served.summary();
  EXPECT_FALSE(served.reviewsError) << served.summary();
}

TEST_F(BookinfoTasks, RequestTimeoutCutsTheReviewsCallShort) {
  TaskConfig slow(mesh(), {networking("virtual-service-all-v1.yaml"),
                           networking("virtual-service-reviews-v2.yaml"),
                           networking("virtual-service-ratings-delay-2s.yaml")});
  ASSERT_TRUE(slow.status().ok()) << slow.status();
  bool reached = false;
  BookinfoPage last = waitForPage(
      {}, [](const auto& p) { return servedBy(p, "v2") && p.reply.elapsed >= 1800ms; }, reached);
  ASSERT_TRUE(reached) << "reviews v2 behind a 2 s ratings delay: " << last.summary();
  const BookinfoPage delayed = page();
  EXPECT_TRUE(servedBy(delayed, "v2")) << delayed.summary();
  EXPECT_GE(delayed.reply.elapsed, 1800ms) << delayed.summary();
  EXPECT_LT(delayed.reply.elapsed, 3s) << delayed.summary();

  TaskConfig timeout(mesh(), {networking("virtual-service-reviews-v2-timeout.yaml")});
  ASSERT_TRUE(timeout.status().ok()) << timeout.status();
  last = waitForPage(
      {}, [](const auto& p) { return p.reviewsError; }, reached);
  ASSERT_TRUE(reached) << "reviews with a 0.5 s timeout: " << last.summary();
  // Two attempts of 0.5 s each: about 1 s instead of 2 s.
  const BookinfoPage cut = page();
  EXPECT_TRUE(cut.reviewsError) << cut.summary();
  EXPECT_NE(cut.reply.body.find("Sorry, product reviews are currently unavailable"),
            std::string::npos);
  EXPECT_GE(cut.reply.elapsed, 900ms) << cut.summary();
  EXPECT_LT(cut.reply.elapsed, 1900ms) << cut.summary();
}

TEST_F(BookinfoTasks, TrafficShiftingSplitsReviewsBetweenV1AndV3) {
  TaskConfig task(mesh(), {networking("virtual-service-all-v1.yaml"),
                           networking("virtual-service-reviews-50-v3.yaml")});
  ASSERT_TRUE(task.status().ok()) << task.status();
  bool reached = false;
  const Versions settled = waitForVersions(
      10, [](const Versions& batch) { return batch["v2"] == 0 && batch["v1"] + batch["v3"] == 10; },
      reached);
  ASSERT_TRUE(reached) << "v2: " << settled["v2"] << settled.oddPages;
  // 50/50 over 100 requests: each count is 50 ± 25 (5 standard deviations of 5).
  constexpr int kRequests = 100;
  const Versions versions = versionsOf(kRequests);
  EXPECT_EQ(versions["v1"] + versions["v3"], kRequests)
      << "v2: " << versions["v2"] << ", no reviews: " << versions[""] << versions.oddPages;
  EXPECT_EQ(versions["v2"], 0);
  EXPECT_GE(versions["v1"], 25) << "v3: " << versions["v3"];
  EXPECT_GE(versions["v3"], 25) << "v1: " << versions["v1"];

  TaskConfig allV3(mesh(), {networking("virtual-service-reviews-v3.yaml")});
  ASSERT_TRUE(allV3.status().ok()) << allV3.status();
  const Versions lastTen = waitForVersions(
      10, [](const Versions& batch) { return batch["v3"] == 10; }, reached);
  EXPECT_TRUE(reached) << "red stars every time; v1: " << lastTen["v1"] << lastTen.oddPages;
  EXPECT_EQ(versionsOf(20)["v3"], 20);
}

} // namespace
} // namespace meshd::e2e
