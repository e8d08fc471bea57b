// opsmeter/export.hpp: the symbol-visibility macro for the public API.
//
// The library is built with hidden visibility; only declarations marked OPSMETER_API are exported
// from a shared libopsmeter. Users never need to define anything here.
#pragma once

#if defined(_WIN32)
#if defined(OPSMETER_SHARED) && defined(OPSMETER_BUILDING)
#define OPSMETER_API __declspec(dllexport)
#elif defined(OPSMETER_SHARED)
#define OPSMETER_API __declspec(dllimport)
#else
#define OPSMETER_API
#endif
#else
#define OPSMETER_API __attribute__((visibility("default")))
#endif

// For private members of an exported class that are not part of the API.
#if defined(_WIN32)
#define OPSMETER_LOCAL
#else
#define OPSMETER_LOCAL __attribute__((visibility("hidden")))
#endif
