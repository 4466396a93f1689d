# Sourced by scripts/test and scripts/demo: installs the Debian packages the
# build and tests need, skipping those already installed.
OPENHETS_DEBS="build-essential autoconf automake libtool pkg-config libuv1-dev libssl-dev libjansson-dev libsqlite3-dev check clang python3 openssl libsystemd-dev libhttp-parser-dev libpq-dev postgresql haproxy prometheus chromium libxml2-dev curl python3-zeep"

openhets_install_deps() {
  local missing=() p
  for p in $OPENHETS_DEBS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root to install them)" >&2
    return 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
