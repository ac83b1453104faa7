#!/usr/bin/env bash
# Runs every cargo-fuzz target of webhook-guard for SECONDS each (default 60),
# starting from the committed seeds, and fails on any crash, hang or memory
# blow-up, leaving the reproducer in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS]
#
# Works from any directory, needs no standard input, installs cargo-fuzz when it
# is missing. Environment (all optional):
#   FUZZ_TARGETS="canonical verify"  run only these targets
#   FUZZ_SANITIZER=address           cargo-fuzz sanitizer (default: none, see README)
#   FUZZ_CORPUS_DIR=DIR              working corpora, one folder per target
#                                    (default: fuzz/corpus, ignored by git)
set -euo pipefail

usage() {
    echo "usage: fuzz/run.sh [SECONDS]   (default 60 seconds per target)" >&2
    exit 2
}
seconds="${1:-60}"
[[ $# -le 1 && "$seconds" =~ ^[1-9][0-9]*$ ]] || usage

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$fuzz_dir")"
cd "$repo_dir"

targets=(${FUZZ_TARGETS:-canonical differential signature verify event header_file signature_input standard_signatures content_digest url_token})
sanitizer="${FUZZ_SANITIZER:-none}"
corpus_root="${FUZZ_CORPUS_DIR:-$fuzz_dir/corpus}"

# Longest input per target: structured targets need room for several headers
# and a body; a signature is 44 bytes.
max_len() {
    case "$1" in
        signature) echo 128 ;;
        *) echo 4096 ;;
    esac
}

# With -s none cargo-fuzz needs no unstable flag; with a sanitizer it passes
# -Zsanitizer to rustc, which the stable toolchain accepts only with this.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
# The fuzz crate has its own target dir (fuzz/target), whatever the caller uses.
export CARGO_TARGET_DIR="$fuzz_dir/target"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked </dev/null
fi
cargo fuzz --version

# -a: debug assertions and overflow checks on, in an optimized build.
build_flags=(-s "$sanitizer" -a)
echo "== building ${targets[*]} (sanitizer: $sanitizer)"
cargo fuzz build "${build_flags[@]}" </dev/null

log_dir="$(mktemp -d "${TMPDIR:-/tmp}/webhook-guard-fuzz.XXXXXX")"
trap 'rm -rf "$log_dir"' EXIT

failed=()
summary=()
for target in "${targets[@]}"; do
    corpus="$corpus_root/$target"
    artifacts="$fuzz_dir/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    # Seeds into the working corpus; the committed seed folders stay untouched.
    for seed in "$fuzz_dir/seeds/$target"/*; do
        [[ -e "$corpus/$(basename "$seed")" ]] || cp "$seed" "$corpus/"
    done
    log="$log_dir/$target.log"
    echo "== fuzzing $target for ${seconds}s (corpus: $corpus)"
    status=0
    # A crash, a panic, an input over -timeout seconds or an RSS over
    # -rss_limit_mb ends the run with a non-zero status and a reproducer.
    cargo fuzz run "${build_flags[@]}" "$target" "$corpus" -- \
        -max_total_time="$seconds" \
        -max_len="$(max_len "$target")" \
        -timeout=10 \
        -rss_limit_mb=1024 \
        -print_final_stats=1 \
        </dev/null >"$log" 2>&1 || status=$?
    done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
    rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")"
    # libFuzzer names the reproducer it wrote: "Test unit written to PATH".
    reproducers="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")"
    if [[ $status -ne 0 || -n "$reproducers" ]]; then
        failed+=("$target")
        summary+=("$(printf '%-13s FAILED (exit %s) execs=%s' "$target" "$status" "${execs:-?}")")
        echo "!! $target failed (exit $status)"
        grep -m 1 -A 2 -E 'panicked at|ERROR: libFuzzer' "$log" | sed 's/^/   /' || true
        echo "!! end of the libFuzzer log:"
        tail -n 30 "$log" | sed 's/^/   /'
        for path in $reproducers; do
            path="fuzz/artifacts/$target/$(basename "$path")"
            echo "!! reproducer: $path"
            echo "   reproduce: cd $repo_dir && RUSTC_BOOTSTRAP=1 cargo fuzz run ${build_flags[*]} $target $path"
            echo "   minimize:  cd $repo_dir && RUSTC_BOOTSTRAP=1 cargo fuzz tmin ${build_flags[*]} $target $path"
        done
        [[ -n "$reproducers" ]] || echo "!! no reproducer was written; see the log above"
    else
        line="$(printf '%-13s ok  execs=%s exec/s=%s cov=%s ft=%s peak_rss=%sMB' \
            "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${rss:-?}")"
        summary+=("$line")
        echo "   $line"
    fi
done

echo "== summary (${seconds}s per target, sanitizer: $sanitizer)"
printf '   %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "== FAILED: ${failed[*]} (reproducers in fuzz/artifacts/<target>/)" >&2
    exit 1
fi
echo "== all targets passed"
