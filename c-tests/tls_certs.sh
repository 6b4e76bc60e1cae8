#!/bin/sh
# Makes the certificates of test_tls.c with the openssl CLI, into DIR (CTest runs it as the
# fixture test tls.certs, once per build directory and run):
#   ca.pem, ca.key            a private CA
#   server.pem, server.key    CN localhost, subjectAltName DNS:localhost, IP:127.0.0.1, from ca
#   client.pem, client.key    CN "socketcore test client", extendedKeyUsage clientAuth, from ca
#   other-ca.pem              a second, unrelated CA (nothing here chains to it)
# Keys are EC P-256 (made in milliseconds); certificates are valid for 30 days from now.
# Usage: tls_certs.sh DIR     (OPENSSL=/path/to/openssl to choose the binary)
set -eu
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
openssl=${OPENSSL:-openssl}
mkdir -p "$1"
cd "$1"
tmp=$(mktemp -d tls_certs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

key() { "$openssl" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
ca() { # ca NAME CN: a self-signed CA certificate NAME.pem and its key NAME.key
    key "$tmp/$1.key"
    "$openssl" req -x509 -new -key "$tmp/$1.key" -subj "/CN=$2" -days 30 -sha256 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$tmp/$1.pem"
}
leaf() { # leaf NAME CN EXTENSIONS: NAME.pem signed by ca, and NAME.key
    key "$tmp/$1.key"
    "$openssl" req -new -key "$tmp/$1.key" -subj "/CN=$2" -out "$tmp/$1.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "$3" >"$tmp/$1.ext"
    "$openssl" x509 -req -in "$tmp/$1.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 30 -sha256 -extfile "$tmp/$1.ext" -out "$tmp/$1.pem" 2>/dev/null
}

ca ca "socketcore test CA"
ca other-ca "socketcore unrelated CA"
leaf server localhost "extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
leaf client "socketcore test client" "extendedKeyUsage=clientAuth"
"$openssl" verify -CAfile "$tmp/ca.pem" "$tmp/server.pem" "$tmp/client.pem"
if "$openssl" verify -CAfile "$tmp/other-ca.pem" "$tmp/server.pem" >/dev/null 2>&1; then
    echo "server.pem verifies against other-ca.pem: the CAs are not unrelated" >&2
    exit 1
fi

# Published only once all were made, so that a half-made set is never used.
for f in ca.pem ca.key server.pem server.key client.pem client.key other-ca.pem; do
    mv "$tmp/$f" "$f"
done
rm -f openssl-*.log # the servers' logs that failed tests of an earlier run kept
echo "TLS test certificates made in $(pwd)"
