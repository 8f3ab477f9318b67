#!/usr/bin/env bash
# selfcheck.sh - check the interop harness without tern: every case of cases.txt,
# for each peer, with the other real peer standing in where tern would be
# (openssl <-> gnutls). When these pass, a failure with tern in place is tern's.
#
#   tests/interop/selfcheck.sh [NAME-REGEX]
#
# Tern-only cases (fingerprint pinning) are reported as skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
filter=${1:-.}
pass=0 failed=() skipped=0
while read -r name args; do
    case $name in '' | '#'*) continue ;; esac
    [[ $name =~ $filter ]] || continue
    role=${name%%.*}
    for peer in openssl gnutls; do
        other=gnutls
        [ $peer = gnutls ] && other=openssl
        # shellcheck disable=SC2086 # args is a list of options
        rc=0
        out=$(timeout 60 "$here/interop.sh" --tern "$role" --peer $peer --stand-in $other \
            $args 2>&1) || rc=$?
        case $rc in
        0) pass=$((pass + 1)); echo "pass  $peer.$name (tern played by $other)" ;;
        77) skipped=$((skipped + 1)); echo "skip  $peer.$name: ${out##*SKIP: }" ;;
        *) failed+=("$peer.$name"); echo "FAIL  $peer.$name (tern played by $other)"
           echo "$out" | sed 's/^/      /' ;;
        esac
    done
done < "$here/cases.txt"
echo "selfcheck: $pass passed, $skipped skipped, ${#failed[@]} failed ${failed[*]:-}"
[ ${#failed[@]} -eq 0 ]
