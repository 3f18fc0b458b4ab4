// Reading Bookinfo's product page as Istio's tasks tell users to (samples/README.md): which
// reviews version served it, the colour of its stars, the error messages, who is signed in.
#pragma once

#include <cstdint>
#include <string>

#include "test/e2e/ingress_http.h"

namespace meshd::e2e {

struct BookinfoPage {
  HttpReply reply;
  std::string reviewsPod; // "Reviews served by:", e.g. reviews-v2-0 (empty when reviews failed)
  std::string starColor;  // "black" (v2), "red" (v3), "" (v1 or no reviews)
  bool mixedStarColors = false;
  bool reviewsError = false;       // "Error fetching product reviews!"
  bool detailsError = false;       // "Error fetching product details!"
  bool ratingsUnavailable = false; // "Ratings service is currently unavailable"
  std::string signedInAs;

  // v1, v2 or v3 from the pod name; empty when no reviews were shown.
  std::string reviewsVersion() const;
  // The version the stars say (none: v1, black: v2, red: v3); empty when no reviews were shown.
  std::string versionByStars() const;
  // One line for assertion messages.
  std::string summary() const;
};

BookinfoPage parseBookinfoPage(HttpReply reply);

// GET /productpage through the ingress gateway on `port`.
BookinfoPage fetchProductPage(uint16_t port, const HttpHeaders& headers = {});

} // namespace meshd::e2e
