#!/usr/bin/env bash
# Makes a local site CA and the certificates docker/compose.yaml's silos and a local Orleans client use, in docker/certs/
# (git-ignored). Run once before `docker compose up`; run again after deleting docker/certs/ to start over.
#   site-ca.crt  the site CA's certificate: all that silos and clients trust (PARTICLEGRID__TLS__CACERTIFICATEPATH)
#   site-ca.key  its key: keep it to issue more; whoever holds it can make certificates the cluster accepts
#   silo.pfx     the silos' certificate: server and client authentication (the silo port admits only these)
#   client.pfx   an Orleans client's (ingest --cluster): client authentication only
# The PFX password is "particlegrid": these are a developer's certificates, not a site's (docs/security.md says how a
# site issues its own).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p certs
cd certs
if [[ -f site-ca.crt ]]; then echo "docker/certs already holds a site CA; delete the folder to make new ones"; exit 0; fi

openssl req -x509 -newkey rsa:3072 -nodes -keyout site-ca.key -out site-ca.crt -days 825 -subj "/CN=ParticleGrid local site CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() {
  local name=$1 usage=$2
  openssl req -newkey rsa:3072 -nodes -keyout "$name.key" -out "$name.csr" -subj "/CN=particlegrid-$name" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA site-ca.crt -CAkey site-ca.key -CAcreateserial -days 397 -out "$name.crt" \
    -extfile <(printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' "$usage") 2>/dev/null
  openssl pkcs12 -export -in "$name.crt" -inkey "$name.key" -out "$name.pfx" -passout pass:particlegrid
  rm -f "$name.csr" "$name.key" "$name.crt"
}
issue silo serverAuth,clientAuth
issue client clientAuth
rm -f site-ca.srl
chmod 600 site-ca.key
# The silos run as user 1654 in their containers: they must be able to read the PFX files mounted from here.
chmod 644 site-ca.crt silo.pfx client.pfx
echo "made docker/certs: site-ca.crt, site-ca.key (keep it private), silo.pfx, client.pfx (password particlegrid)"
