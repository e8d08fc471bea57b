// opsmeter/opsmeter.hpp: the whole public API of the Opsmeter C++ SDK in one include.
//
// Start with opsmeter/client.hpp (the client that delivers records), opsmeter/call_scope.hpp
// (measure and record one provider call), opsmeter/context.hpp (attribution for a block of
// code), opsmeter/usage.hpp (token usage from provider responses), opsmeter/record.hpp (the
// typed record) and opsmeter/ids.hpp (externalRequestId and userId helpers). No header of this SDK includes curl, nlohmann/json or any
// platform header.
#pragma once

#include "opsmeter/call_scope.hpp"
#include "opsmeter/callback.hpp"
#include "opsmeter/check.hpp"
#include "opsmeter/client.hpp"
#include "opsmeter/context.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/record.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/usage.hpp"
#include "opsmeter/validation.hpp"
#include "opsmeter/version.hpp"
