#!/bin/sh
# mkcerts.sh DIR: makes the TLS test certificates in DIR (created if need
# be) with the openssl command alone (3.0 or later; no faketime).  Prints
# nothing on success; on failure prints what openssl said and exits 1.
# Idempotent: a DIR already complete is left as it is.  Keys are made here,
# at test time; none is ever committed.
#
#   ca.pem ca.key                    test CA (ECDSA P-256)
#   server.pem server.key            ECDSA P-256, serverAuth, SAN IP:127.0.0.1 DNS:localhost
#   server-rsa.pem server-rsa.key    the same with RSA 2048
#   client1.pem client1.key          clientAuth, signed by the CA (ECDSA P-256)
#   client2.pem client2.key          another one
#   client-expired.pem .key          clientAuth, valid 2020-01-01 .. 2021-01-01 only
#   client-untrusted.pem .key        clientAuth, signed by ca2 (ca2.pem), which nobody trusts
#   client-wrongpurpose.pem .key     signed by the CA but serverAuth only
set -eu
umask 077

[ $# -eq 1 ] || { echo "usage: mkcerts.sh DIR" >&2; exit 2; }
command -v openssl >/dev/null 2>&1 || {
  echo "mkcerts.sh: the openssl command is needed (Debian: apt-get install openssl)" >&2
  exit 1
}
mkdir -p "$1"
dir=$(cd "$1" && pwd)
[ -f "$dir/.complete" ] && exit 0

log="$dir/mkcerts.log"
: >"$log"
trap 'echo "mkcerts.sh: failed making certificates in $dir; openssl said:" >&2; cat "$log" >&2' EXIT
run() { "$@" >>"$log" 2>&1; }

cnf="$dir/openssl.cnf"
cat >"$cnf" <<EOF
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
[ client_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $dir/ca-db/index.txt
serial = $dir/ca-db/serial
new_certs_dir = $dir/ca-db
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = none
[ any_name ]
commonName = supplied
EOF

ec_key() { run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$1.key"; }

# csr NAME CN: a key and a signing request for it.
csr() {
  [ -f "$dir/$1.key" ] || ec_key "$1"
  run openssl req -config "$cnf" -new -key "$dir/$1.key" -subj "/O=openhets tests/CN=$2" \
    -out "$dir/$1.csr"
}

# leaf NAME CN CA SERIAL EXTENSIONS: a certificate signed by CA for 825 days.
leaf() {
  csr "$1" "$2"
  run openssl x509 -req -in "$dir/$1.csr" -CA "$dir/$3.pem" -CAkey "$dir/$3.key" \
    -set_serial "$4" -days 825 -sha256 -extfile "$cnf" -extensions "$5" -out "$dir/$1.pem"
}

# root NAME CN: a self-signed CA.
root() {
  ec_key "$1"
  run openssl req -config "$cnf" -x509 -new -key "$dir/$1.key" -subj "/O=openhets tests/CN=$2" \
    -days 3650 -sha256 -extensions ca_ext -out "$dir/$1.pem"
}

rm -f "$dir"/*.key "$dir"/*.pem "$dir"/*.csr
root ca "openhets test CA"
root ca2 "openhets untrusted CA"

leaf server localhost ca 4097 server_ext
run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/server-rsa.key"
leaf server-rsa localhost ca 4098 server_ext
leaf client1 "TESTSUB1 client 1" ca 4099 client_ext
leaf client2 "TESTSUB2 client 2" ca 4100 client_ext
leaf client-untrusted "untrusted client" ca2 4101 client_ext
leaf client-wrongpurpose "server-only certificate" ca 4102 server_ext

# x509 -days counts from now only; "openssl ca" takes any start and end,
# so the expired certificate comes from it (with a throwaway database).
rm -rf "$dir/ca-db"
mkdir "$dir/ca-db"
: >"$dir/ca-db/index.txt"
echo 1103 >"$dir/ca-db/serial"
csr client-expired "expired client"
run openssl ca -config "$cnf" -batch -notext -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
  -startdate 20200101000000Z -enddate 20210101000000Z -extensions client_ext \
  -in "$dir/client-expired.csr" -out "$dir/client-expired.pem"

rm -rf "$dir/ca-db" "$dir"/*.csr "$dir/openssl.cnf"
chmod 644 "$dir"/*.pem
trap - EXIT
rm -f "$log"
: >"$dir/.complete"
