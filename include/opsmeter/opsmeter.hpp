// opsmeter/opsmeter.hpp: the whole public API of the Opsmeter C++ SDK in one include.
//
// Start with opsmeter/client.hpp (the client that delivers records), opsmeter/capture.hpp
// (record a provider call in one call), opsmeter/call_scope.hpp (the scope underneath it),
// opsmeter/context.hpp (attribution for a block of code), opsmeter/usage.hpp (token usage
// from provider responses), opsmeter/record.hpp (the typed record) and opsmeter/ids.hpp
// (externalRequestId and userId helpers). No header included here includes curl,
// nlohmann/json or any platform header; opsmeter/adapters/nlohmann_json.hpp (opt-in, not
// included here) includes nlohmann/json.
#pragma once

#include "opsmeter/call_scope.hpp"
#include "opsmeter/callback.hpp"
#include "opsmeter/capture.hpp"
#include "opsmeter/check.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/context.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/metrics.hpp"
#include "opsmeter/record.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/usage.hpp"
#include "opsmeter/validation.hpp"
#include "opsmeter/version.hpp"
