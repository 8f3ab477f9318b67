#!/usr/bin/env bash
# Install the Debian 12 packages tern needs: "build" to build and run the demo,
# "test" for everything the tests use. Does nothing when they are all present.
#   scripts/deps.sh build|test
set -euo pipefail
build_pkgs=(gcc make cmake pkg-config libssl-dev)
test_pkgs=("${build_pkgs[@]}" openssl gnutls-bin clang libclang-rt-14-dev)
case ${1:-build} in
build) want=("${build_pkgs[@]}") ;;
test) want=("${test_pkgs[@]}") ;;
*) echo "usage: $0 build|test" >&2; exit 2 ;;
esac
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
