// The mock ingest server over HTTPS, for the tests that need TLS.
#pragma once

#include <string>

#include "opsmeter/testing/mock_ingest_server.hpp"
#include "peers.hpp"

namespace opsmeter::test {

// Serves HTTPS with this certificate chain and key.
inline testing::MockIngestOptions tls_mock_options(const std::string& cert, const std::string& key) {
  testing::MockIngestOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  return o;
}

// Serves HTTPS with the test PKI's server certificate; clients trust test_pki().ca.
inline testing::MockIngestOptions tls_mock_options() {
  return tls_mock_options(test_pki().server_cert, test_pki().server_key);
}

}  // namespace opsmeter::test
