// opsmeter/opsmeter.hpp: the whole public API of the Opsmeter C++ SDK in one include.
//
// Start with opsmeter/record.hpp (the typed record of one LLM call) and opsmeter/ids.hpp
// (externalRequestId helpers). No header of this SDK includes curl, nlohmann/json or any
// platform header.
#pragma once

#include "opsmeter/client.hpp"
#include "opsmeter/ids.hpp"
#include "opsmeter/record.hpp"
#include "opsmeter/serialize.hpp"
#include "opsmeter/validation.hpp"
#include "opsmeter/version.hpp"
