#!/usr/bin/env bash
# tern beside OpenSSL libssl (DTLS 1.2): runs every benchmark and writes the
# generated part of docs/PERFORMANCE.md (between its bench:begin / bench:end marks).
#
#   scripts/bench.sh                  Release build in build-bench/, full run, doc
#   scripts/bench.sh --quick          a few iterations, no valgrind, no doc (CI smoke)
#   scripts/bench.sh --build DIR      use an existing build tree (do not configure)
#   scripts/bench.sh --no-doc         print the table, leave docs/ alone
#   CALLGRIND_HS=10 CALLGRIND_REC=2000 ROUNDS=5   sizes of the full run
#
# Prints one line per metric: `metric tern openssl ratio` (ratio = tern / openssl).
# Asserts nothing about the figures; exits non-zero only when a program fails to
# run or a metric is missing from the output.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
quick=0
build=""
write_doc=1
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1; write_doc=0 ;;
    --build) build=$2; shift ;;
    --no-doc) write_doc=0 ;;
    *) echo "usage: $0 [--quick] [--build DIR] [--no-doc]" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "$build" ]; then
    build=$root/build-bench
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF \
        -DTERN_BUILD_TOOLS=OFF -DTERN_BUILD_BENCH=ON >/dev/null
    cmake --build "$build" -j "$(nproc)" --target tern-bench tern-bench-heap tern_shared >/dev/null
fi
bench=$build/bench/tern-bench
heap=$build/bench/tern-bench-heap
export TERN_SOURCE_DIR=$root

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.txt
notes=$work/notes.txt
: >"$results"
: >"$notes"

# ---------------------------------------------------------------- timed and heap
args=()
[ $quick = 1 ] && args+=(--quick)
[ $quick = 0 ] && args+=(--rounds "${ROUNDS:-5}")
"$bench" "${args[@]}" >"$work/timed.txt"
"$heap" "${args[@]}" >"$work/heap.txt"
for f in "$work/timed.txt" "$work/heap.txt"; do
    grep -v '^#' "$f" >>"$results" || true
    grep '^#' "$f" | grep -v '^# metric' >>"$notes" || true
done

# ---------------------------------------------------------------- instructions
# Per-object self cost of the collected part of a callgrind profile, as lines
# "object instructions".
objects() {
    callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null | awk '
        /^ *[0-9,]+ .*\[.*\]$/ {
            n = $1; gsub(",", "", n)
            o = $NF; gsub(/[\[\]]/, "", o); sub(/.*\//, "", o)
            if (o ~ /^libcrypto/) o = "libcrypto"
            else if (o ~ /^libssl/) o = "libssl"
            else if (o ~ /^libc\.so/) o = "libc"
            else if (o ~ /^tern-bench/) o = "exe"
            else o = "other"
            sum[o] += n
        }
        END { for (o in sum) print o, sum[o] }'
}

insn_line() { # metric tern openssl
    awk -v m="$1" -v t="$2" -v o="$3" 'BEGIN {
        r = (t != "n/a" && o != "n/a" && o > 0) ? sprintf("%.2f", t / o) : "-"
        printf "%-34s %14s %14s %7s\n", m, t, o, r }'
}

have_valgrind=0
if [ $quick = 0 ] && command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
    have_valgrind=1
fi
nhs=${CALLGRIND_HS:-10}
nrec=${CALLGRIND_REC:-2000}
breakdown=$work/breakdown.txt
: >"$breakdown"

profile() { # out-file args...: run tern-bench under callgrind, collecting its zones
    local out=$1
    shift
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$out" "$bench" "$@" \
        >/dev/null 2>"$out.log" || { cat "$out.log" >&2; return 1; }
}

for g in x25519 p256; do
    declare -A pair=()
    for side in client server; do
        declare -A tot=() cry=()
        for stack in tern openssl; do
            if [ $have_valgrind = 0 ]; then
                tot[$stack]=n/a cry[$stack]=n/a
                continue
            fi
            f=$work/cg.$stack.$g.$side
            profile "$f" --callgrind "$stack" "$g" "$side" "$nhs"
            objects "$f" >"$f.obj"
            t=$(awk -v n="$nhs" '{ s += $2 } END { printf "%.0f", s / n }' "$f.obj")
            c=$(awk -v n="$nhs" '$1 == "libcrypto" { s += $2 } END { printf "%.0f", s / n }' "$f.obj")
            tot[$stack]=$t cry[$stack]=$c
            pair[$stack]=$(( ${pair[$stack]:-0} + t ))
            awk -v n="$nhs" -v k="$stack $g $side" '
                { v[$1] = $2 / n }
                END { printf "%s %.0f %.0f %.0f %.0f %.0f\n", k, v["libcrypto"], v["libssl"],
                      v["exe"], v["libc"], v["other"] }' "$f.obj" >>"$breakdown"
        done
        other() { [ "$1" = n/a ] && echo n/a || echo $(( $1 - $2 )); }
        insn_line "insn_${side}_$g" "${tot[tern]}" "${tot[openssl]}" >>"$results"
        insn_line "insn_${side}_${g}_libcrypto" "${cry[tern]}" "${cry[openssl]}" >>"$results"
        insn_line "insn_${side}_${g}_other" "$(other "${tot[tern]}" "${cry[tern]}")" \
            "$(other "${tot[openssl]}" "${cry[openssl]}")" >>"$results"
    done
    insn_line "insn_pair_$g" "${pair[tern]:-n/a}" "${pair[openssl]:-n/a}" >>"$results"
done

# First contact: a new tern client config (empty caches) for every handshake.
if [ $have_valgrind = 1 ]; then
    f=$work/cg.tern.x25519.client.cold
    profile "$f" --callgrind tern x25519 client "$nhs" --cold
    objects "$f" >"$f.obj"
    cold=$(awk -v n="$nhs" '{ s += $2 } END { printf "%.0f", s / n }' "$f.obj")
    warm=$(awk '$1 == "insn_client_x25519" { print $3 }' "$results")
    insn_line insn_client_x25519_cold "$cold" "$warm" >>"$results"
else
    insn_line insn_client_x25519_cold n/a n/a >>"$results"
fi

for a in aes128gcm chacha20poly1305; do
    declare -A rec=()
    for stack in tern openssl; do
        if [ $have_valgrind = 0 ]; then
            rec[$stack]=n/a
            continue
        fi
        f=$work/cg.bulk.$stack.$a
        profile "$f" --callgrind-bulk "$stack" "$a" "$nrec"
        objects "$f" >"$f.obj"
        rec[$stack]=$(awk -v n="$nrec" '{ s += $2 } END { printf "%.0f", s / n }' "$f.obj")
        awk -v n="$nrec" -v k="$stack bulk-$a record" '
            { v[$1] = $2 / n }
            END { printf "%s %.0f %.0f %.0f %.0f %.0f\n", k, v["libcrypto"], v["libssl"],
                  v["exe"], v["libc"], v["other"] }' "$f.obj" >>"$breakdown"
    done
    insn_line "insn_bulk_record_$a" "${rec[tern]}" "${rec[openssl]}" >>"$results"
done
[ $have_valgrind = 0 ] && echo "# instructions: valgrind not run (quick mode or not installed)" >>"$notes"

# ---------------------------------------------------------------- text size
libtern=$(ls "$build"/libtern.so.*.*.* 2>/dev/null | head -n1 || true)
libssl=$(ldd "$bench" 2>/dev/null | awk '/libssl\.so/ { print $3; exit }' || true)
text() { [ -n "$1" ] && [ -f "$1" ] && size "$1" | awk 'NR == 2 { print $1 }' || echo n/a; }
insn_line text_bytes "$(text "$libtern")" "$(text "$libssl")" >>"$results"

# ---------------------------------------------------------------- every metric there?
expected="hs_per_s_x25519 hs_per_s_p256 datagrams_per_hs_x25519 datagrams_per_hs_p256
    bulk_rec_per_s_aes128gcm bulk_mb_per_s_aes128gcm bulk_rec_per_s_chacha20poly1305
    bulk_mb_per_s_chacha20poly1305 raw_aead_rec_per_s_aes128gcm
    raw_aead_rec_per_s_chacha20poly1305 bulk_pct_of_raw_aes128gcm
    bulk_pct_of_raw_chacha20poly1305 raw_rec12_rec_per_s_aes128gcm
    raw_rec12_rec_per_s_chacha20poly1305 bulk_pct_of_raw12_aes128gcm
    bulk_pct_of_raw12_chacha20poly1305 heap_idle_client heap_idle_server
    insn_client_x25519 insn_server_x25519 insn_pair_x25519 insn_client_p256
    insn_server_p256 insn_pair_p256 insn_client_x25519_libcrypto insn_client_x25519_other
    insn_server_x25519_libcrypto insn_server_x25519_other insn_client_x25519_cold
    insn_bulk_record_aes128gcm
    insn_bulk_record_chacha20poly1305 text_bytes"
printf '%-34s %14s %14s %7s\n' metric tern openssl ratio
cat "$results"
cat "$notes"
missing=0
for m in $expected; do
    grep -q "^$m " "$results" || { echo "bench: metric $m missing" >&2; missing=1; }
done
[ $missing = 0 ] || exit 1
[ $write_doc = 1 ] || exit 0

# ---------------------------------------------------------------- docs/PERFORMANCE.md
target() {
    case "$1" in
    hs_per_s_*) echo "ratio ≥ 1.5" ;;
    insn_pair_*) echo "ratio ≤ 0.65" ;;
    bulk_rec_per_s_* | bulk_mb_per_s_*) echo "ratio ≥ 1.2" ;;
    bulk_pct_of_raw_* | bulk_pct_of_raw12_*) echo "tern ≥ 90" ;;
    heap_idle_*) echo "tern ≤ 4096" ;;
    datagrams_per_hs_*) echo "ratio ≤ 1" ;;
    *) echo "" ;;
    esac
}
doc=$root/docs/PERFORMANCE.md
gen=$work/generated.md
{
    echo "<!-- bench:begin (generated by scripts/bench.sh; edit outside these marks) -->"
    echo
    echo "Run of $(date -u +%Y-%m-%d) at $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src include 2>/dev/null || echo ' (with local changes)')."
    echo
    echo "| metric | tern | OpenSSL | tern / OpenSSL | target |"
    echo "|---|--:|--:|--:|---|"
    while read -r m t o r; do
        echo "| $m | $t | $o | $r | $(target "$m") |"
    done <"$results"
    echo
    echo "Instructions per handshake (or per bulk record, both sides) by object,"
    echo "from callgrind's self cost (\`exe\` is tern-bench: tern, linked statically,"
    echo "and the harness; for OpenSSL only the harness and the datagram BIO):"
    echo
    echo "| stack | run | side | libcrypto | libssl | exe | libc | other |"
    echo "|---|---|---|--:|--:|--:|--:|--:|"
    while read -r s g side c l e lc ot; do
        echo "| $s | $g | $side | $c | $l | $e | $lc | $ot |"
    done <"$breakdown"
    echo
    echo "How the figures were taken:"
    echo
    sed 's/^# /- /' "$notes"
    echo
    echo "Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores" \
        "($(lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -n1 | sed 's/.\+/virtualised: &/')),"
    echo "$(openssl version 2>/dev/null || echo 'OpenSSL ?'), $(cc --version | head -n1), $(uname -sr)."
    echo
    echo "<!-- bench:end -->"
} >"$gen"
if [ -f "$doc" ] && grep -q '<!-- bench:begin' "$doc" && grep -q '<!-- bench:end' "$doc"; then
    awk -v gen="$gen" '
        /<!-- bench:begin/ { while ((getline l < gen) > 0) print l; skip = 1; next }
        /<!-- bench:end/ { skip = 0; next }
        !skip' "$doc" >"$work/doc.md"
    cp "$work/doc.md" "$doc"
else
    cp "$gen" "$doc"
fi
echo "bench: wrote $doc"
