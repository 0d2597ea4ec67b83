#pragma once

// The routes of self-check kiosks and automated returns (docs/sip2.md): what `carrel serve
// --sip2` calls for each SIP2 message, through the same dispatcher as every other route. A
// kiosk reaches a patron's loans, holds and fines only with the patron's card and PIN, and is
// told no more of the patron than the profile's `kiosk_name` allows: never an email, phone,
// address or birth date.

#include <string>
#include <string_view>

#include "api/context.h"

namespace carrel {

// What a kiosk is told of a patron's name under the profile's `kiosk_name` rule: the first
// word ("first"), all of it ("full"), or nothing ("none").
std::string KioskName(std::string_view rule, std::string_view name);

StatusOr<ApiResponse> KioskStatus(ApiContext& c);
StatusOr<ApiResponse> KioskPatron(ApiContext& c);
StatusOr<ApiResponse> KioskItem(ApiContext& c);
StatusOr<ApiResponse> KioskCheckout(ApiContext& c);
StatusOr<ApiResponse> KioskCheckin(ApiContext& c);
StatusOr<ApiResponse> KioskRenew(ApiContext& c);
StatusOr<ApiResponse> KioskRenewAll(ApiContext& c);
StatusOr<ApiResponse> KioskPayFees(ApiContext& c);
StatusOr<ApiResponse> KioskPlaceHold(ApiContext& c);
StatusOr<ApiResponse> KioskCancelHold(ApiContext& c);

}  // namespace carrel
