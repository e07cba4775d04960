#!/usr/bin/env bash
# Installs the Debian packages of the engines the tests start on loopback: PostgreSQL (accounts),
# OpenStack Swift with its s3api (object storage), memcached (Swift's token cache), HAProxy (the
# cluster test's load balancer), Chromium (the web client's tests) and unzip (which reads its zips back). The tests start and stop them
# in temporary folders themselves; nothing here starts a service. Needs root (or sudo); run by .ci/run.
set -euo pipefail
PACKAGES=(postgresql swift swift-proxy swift-object swift-account swift-container memcached haproxy chromium unzip)
SUDO=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo > /dev/null || { echo "install-engines: run as root (or install sudo): apt-get install ${PACKAGES[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" > /dev/null
echo "install-engines: ${PACKAGES[*]} installed"
