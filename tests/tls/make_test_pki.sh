#!/usr/bin/env bash
# Makes the certificates the TLS tests use, fresh at test time, in DIR:
#   ca.pem                    the test CA the client trusts (Options::tls.ca_bundle)
#   server.pem/.key           localhost, 127.0.0.1 and ::1, signed by the test CA
#   wrong-host.pem/.key       wrong.example only, signed by the test CA (name mismatch)
#   untrusted.pem/.key        localhost and 127.0.0.1, signed by a CA the client does not trust
# Usage: make_test_pki.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"

ca() {  # NAME SUBJECT
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$2" -keyout "$1.key" -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null
}

leaf() {  # NAME CA SUBJECT_ALT_NAMES
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" \
    -keyout "$1.key" -out "$1.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' \
    "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 2 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca "opsmeter test CA"
ca other-ca "untrusted test CA"
leaf server ca "DNS:localhost,IP:127.0.0.1,IP:::1"
leaf wrong-host ca "DNS:wrong.example"
leaf untrusted other-ca "DNS:localhost,IP:127.0.0.1,IP:::1"
