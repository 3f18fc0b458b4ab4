// Bookinfo's product page as the tasks read it (bookinfo_page.h).
#include "test/e2e/bookinfo_page.h"

namespace meshd::e2e {
namespace {

// The text between `open` and the next `close` after it, or empty.
std::string between(const std::string& text, const std::string& open, const std::string& close) {
  const size_t start = text.find(open);
  if (start == std::string::npos) {
    return {};
  }
  const size_t end = text.find(close, start + open.size());
  return end == std::string::npos ? std::string()
                                  : text.substr(start + open.size(), end - start - open.size());
}

} // namespace

std::string BookinfoPage::reviewsVersion() const {
  for (const char* version : {"v1", "v2", "v3"}) {
    if (reviewsPod.starts_with(std::string("reviews-") + version + "-")) {
      return version;
    }
  }
  return {};
}

std::string BookinfoPage::versionByStars() const {
  if (reviewsPod.empty()) {
    return {};
  }
  if (starColor.empty()) {
    return ratingsUnavailable ? "" : "v1";
  }
  return starColor == "black" ? "v2" : starColor == "red" ? "v3" : "";
}

std::string BookinfoPage::summary() const {
  return "status " + std::to_string(reply.status) + " in " + std::to_string(reply.elapsed.count()) +
         " ms, reviews pod '" + reviewsPod + "', stars '" + starColor + "'" +
         (mixedStarColors ? " (mixed)" : "") + (reviewsError ? ", reviews error" : "") +
         (detailsError ? ", details error" : "") +
         (ratingsUnavailable ? ", ratings unavailable" : "") +
         (signedInAs.empty() ? "" : ", signed in as " + signedInAs);
}

BookinfoPage parseBookinfoPage(HttpReply reply) {
  BookinfoPage page;
  const std::string& html = reply.body;
  page.reviewsPod = between(html, "<u id=\"podname\">", "</u>");
  page.signedInAs = between(html, "<b id=\"user\">", "</b>");
  for (size_t at = html.find("<font color=\""); at != std::string::npos;
       at = html.find("<font color=\"", at + 1)) {
    const std::string color = between(html.substr(at), "<font color=\"", "\"");
    page.mixedStarColors =
        page.mixedStarColors || (!page.starColor.empty() && color != page.starColor);
    page.starColor = color;
  }
  page.reviewsError = html.find("Error fetching product reviews!") != std::string::npos;
  page.detailsError = html.find("Error fetching product details!") != std::string::npos;
  page.ratingsUnavailable =
      html.find("Ratings service is currently unavailable") != std::string::npos;
  page.reply = std::move(reply);
  return page;
}

BookinfoPage fetchProductPage(uint16_t port, const HttpHeaders& headers) {
  return parseBookinfoPage(httpCall(port, "GET", "/productpage", headers));
}

} // namespace meshd::e2e
