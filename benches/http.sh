#!/usr/bin/env bash
# HTTP throughput of the same handler with and without verification, over
# loopback, with wrk and one fixed signed delivery (1 KiB JSON body).
#
#   benches/http.sh [SECONDS] [ROUNDS]      (default: 5 s per run, 5 rounds)
#
# Builds examples/bench_server.rs in release (features axum,actix; honours
# CARGO_TARGET_DIR), then for axum (/bare vs /verified behind
# VerifyWebhookLayer) and for actix-web (/bare vs /verified behind the
# VerifyWebhook middleware, and /extractor with the Webhook extractor):
# starts the server (one worker), warms each route up, and runs wrk on each
# route ROUNDS times, alternating the order every round. It prints each run
# with the server's CPU time per request (user and system, from
# /proc/PID/stat: what a request costs the server even when wrk, not the
# server, limits the throughput) and, per verified route, the median over
# the rounds of verified/bare throughput (each round's pair of runs is one
# ratio):
#
#   baseline: buffering middleware/bare throughput ratio: X  (axum, a from_fn
#                                                 middleware that only gathers the body)
#   layer/bare throughput ratio: X               (axum, VerifyWebhookLayer)
#   actix middleware/bare throughput ratio: X
#   actix extractor/bare throughput ratio: X
#
# It fails (exit status 1, no ratio) when wrk is missing, the server's
# self-check fails (the signed delivery must get 200 on every route and a
# tampered one 401 on every verified route), or any run saw a non-2xx
# response, a socket error or no request at all.
#
# Environment: WRK_CONNECTIONS (default 32), WRK_THREADS (default 1),
# SERVER_CPU and WRK_CPU (CPUs to pin to with taskset; by default the first
# two CPUs this shell may use, when there are two), NO_PIN=1 (no pinning).

set -euo pipefail

usage="usage: benches/http.sh [SECONDS] [ROUNDS]"
duration=${1:-5}
rounds=${2:-5}
connections=${WRK_CONNECTIONS:-32}
threads=${WRK_THREADS:-1}

die() {
    printf 'benches/http.sh: %s\n' "$*" >&2
    exit 1
}

for value in "$duration" "$rounds" "$connections" "$threads"; do
    [[ $value =~ ^[1-9][0-9]*$ ]] || die "not a positive integer: '$value'
$usage"
done
(($# <= 2)) || die "$usage"
((connections >= threads)) || die "WRK_CONNECTIONS must be at least WRK_THREADS"

if ! command -v wrk >/dev/null 2>&1; then
    die "wrk is not installed: apt-get install wrk"
fi

cd "$(dirname "$0")/.."

tmp=$(mktemp -d "${TMPDIR:-/tmp}/webhook-guard-http.XXXXXX")
server_pid=""

stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}

cleanup() {
    stop_server
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build -------------------------------------------------------------------

echo "building examples/bench_server.rs (release, features axum,actix)..."
if ! cargo build --release --example bench_server --features axum,actix \
    --message-format=json-render-diagnostics >"$tmp/build.json"; then
    die "cargo build failed"
fi
server=$(sed -n 's/.*"executable":"\([^"]*\/bench_server\)".*/\1/p' "$tmp/build.json" | tail -n 1)
[[ -n $server && -x $server ]] || die "cargo built no bench_server executable"

# --- the signed delivery -----------------------------------------------------

# The request's timestamp, and where the servers' clocks stand still.
timestamp=$(date +%s)
"$server" lua "$timestamp" >"$tmp/request.lua" || die "bench_server could not write the wrk script"
grep -q '^wrk.headers\["X-Webhook-Signature"\] = "[A-Za-z0-9+/=]\{44\}"$' "$tmp/request.lua" ||
    die "the wrk script has no signature"

# --- pinning -----------------------------------------------------------------

# The CPUs this shell may run on, one per line.
allowed_cpus() {
    local list part from to step
    list=$(taskset -cp "$$" 2>/dev/null) || return 0
    list=${list##*: }
    IFS=, read -ra parts <<<"$list"
    for part in "${parts[@]}"; do
        if [[ $part =~ ^([0-9]+)-([0-9]+)(:([0-9]+))?$ ]]; then
            from=${BASH_REMATCH[1]}
            to=${BASH_REMATCH[2]}
            step=${BASH_REMATCH[4]:-1}
            seq "$from" "$step" "$to"
        elif [[ $part =~ ^[0-9]+$ ]]; then
            echo "$part"
        fi
    done
}

server_pin=()
wrk_pin=()
pinning="not pinned"
if [[ ${NO_PIN:-0} != 1 ]] && command -v taskset >/dev/null 2>&1; then
    mapfile -t cpus < <(allowed_cpus)
    if [[ -n ${SERVER_CPU:-} || -n ${WRK_CPU:-} ]]; then
        [[ -n ${SERVER_CPU:-} && -n ${WRK_CPU:-} ]] || die "set both SERVER_CPU and WRK_CPU"
        cpus=("$SERVER_CPU" "$WRK_CPU")
    fi
    if ((${#cpus[@]} >= 2)); then
        server_pin=(taskset -c "${cpus[0]}")
        wrk_pin=(taskset -c "${cpus[1]}")
        pinning="server on CPU ${cpus[0]}, wrk on CPU ${cpus[1]}"
    fi
fi

# --- server and runs ---------------------------------------------------------

# Starts `bench_server serve $1` and sets server_pid and addr.
start_server() {
    local log=$tmp/$1.log i
    # Created here: the server's redirection happens only once it is scheduled.
    : >"$log"
    ${server_pin[@]+"${server_pin[@]}"} "$server" serve "$1" "$timestamp" >"$log" 2>&1 &
    server_pid=$!
    for ((i = 0; i < 300; i++)); do
        addr=$(sed -n 's/^listening on //p' "$log")
        if [[ -n $addr ]]; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            wait "$server_pid" 2>/dev/null || true
            server_pid=""
            die "the $1 server failed:
$(cat "$log")"
        fi
        sleep 0.1
    done
    die "the $1 server did not start within 30 s:
$(cat "$log")"
}

# The server's CPU time so far, user and system, in clock ticks.
server_ticks() {
    # Fields 14 and 15 of /proc/PID/stat; counted after the command name,
    # which is in parentheses, they are the 12th and 13th.
    sed 's/^.*) //' "/proc/$server_pid/stat" | awk '{ print $12, $13 }'
}

ticks_per_second=$(getconf CLK_TCK)

# Runs wrk on $1 for $2 seconds, checks that every response was 2xx, and sets
# rps to its Requests/sec, and user_us and system_us to the server's CPU time
# per request (user and kernel), in microseconds.
run_wrk() {
    local url=$1 seconds=$2 out=$tmp/wrk.out requests problems before after
    before=$(server_ticks)
    if ! ${wrk_pin[@]+"${wrk_pin[@]}"} wrk -t"$threads" -c"$connections" -d"${seconds}s" \
        -s "$tmp/request.lua" "$url" >"$out" 2>&1; then
        die "wrk failed on $url:
$(cat "$out")"
    fi
    problems=$(grep -E 'Non-2xx or 3xx responses|Socket errors' "$out" || true)
    if [[ -n $problems ]]; then
        die "$url did not answer 2xx to every request:
$(cat "$out")"
    fi
    requests=$(awk '/ requests in /{print $1; exit}' "$out")
    rps=$(awk '$1 == "Requests/sec:" {print $2; exit}' "$out")
    if ! [[ $requests =~ ^[0-9]+$ ]] || ((requests == 0)) || ! [[ $rps =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
        die "no throughput in wrk's output for $url:
$(cat "$out")"
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        die "the server died during the run on $url"
    fi
    after=$(server_ticks)
    read -r user_us system_us < <(awk -v b="$before" -v a="$after" -v n="$requests" -v hz="$ticks_per_second" '
        BEGIN {
            split(b, x, " "); split(a, y, " ")
            printf "%.2f %.2f\n", (y[1] - x[1]) * 1e6 / hz / n, (y[2] - x[2]) * 1e6 / hz / n
        }')
}

# The median of the numbers in file $1, one a line.
median() {
    sort -g "$1" | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) exit 1
            if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2]
            else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

ratio_lines=()

# bench FRAMEWORK BARE_PATH VERIFIED_PATH=LABEL...
bench() {
    local framework=$1 bare=$2 round i path label ratio spec
    shift 2
    local paths=("$bare") labels=()
    for spec in "$@"; do
        paths+=("${spec%%=*}")
        labels+=("${spec#*=}")
    done

    start_server "$framework"
    echo
    local verified=()
    for ((i = 0; i < ${#labels[@]}; i++)); do
        [[ ${labels[i]} == baseline:* ]] || verified+=("${paths[i + 1]}")
    done
    echo "$framework on http://$addr (self-check passed: signed 200 everywhere, tampered 401 on ${verified[*]})"

    local warmup=$((duration < 2 ? duration : 2))
    for path in "${paths[@]}"; do
        run_wrk "http://$addr$path" "$warmup"
        printf '  warm-up    %-11s %12.2f req/s\n' "$path" "$rps"
    done

    declare -A got=()
    for ((round = 1; round <= rounds; round++)); do
        local order=("${paths[@]}")
        if ((round % 2 == 0)); then
            order=()
            for ((i = ${#paths[@]} - 1; i >= 0; i--)); do
                order+=("${paths[i]}")
            done
        fi
        for path in "${order[@]}"; do
            run_wrk "http://$addr$path" "$duration"
            got[$path]=$rps
            echo "$rps" >>"$tmp/$framework${path//\//_}.rps"
            echo "$user_us" >>"$tmp/$framework${path//\//_}.user"
            echo "$system_us" >>"$tmp/$framework${path//\//_}.system"
            printf '  round %d/%d  %-11s %12.2f req/s   server CPU per request: %6.2f us user %6.2f us system\n' \
                "$round" "$rounds" "$path" "$rps" "$user_us" "$system_us"
        done
        for ((i = 1; i < ${#paths[@]}; i++)); do
            path=${paths[i]}
            awk -v v="${got[$path]}" -v b="${got[$bare]}" 'BEGIN { printf "%.4f\n", v / b }' \
                >>"$tmp/$framework${path//\//_}.ratio"
        done
    done
    stop_server

    printf '  median req/s:'
    for path in "${paths[@]}"; do
        printf ' %s %s' "$path" "$(median "$tmp/$framework${path//\//_}.rps")"
    done
    echo
    # What each request costs the server, whoever limits the throughput:
    # steadier than req/s when wrk, not the server, is the bottleneck.
    printf '  median server CPU per request (user + system):'
    for path in "${paths[@]}"; do
        printf ' %s %s + %s us' "$path" "$(median "$tmp/$framework${path//\//_}.user")" \
            "$(median "$tmp/$framework${path//\//_}.system")"
    done
    echo
    for ((i = 1; i < ${#paths[@]}; i++)); do
        path=${paths[i]}
        label=${labels[i - 1]}
        ratio=$(median "$tmp/$framework${path//\//_}.ratio")
        printf '  per-round %s vs %s ratios: %s\n' "$path" "$bare" \
            "$(tr '\n' ' ' <"$tmp/$framework${path//\//_}.ratio")"
        awk -v m="$ratio" '
            NR == 1 || $1 < lo { lo = $1 }
            NR == 1 || $1 > hi { hi = $1 }
            END {
                if ((hi - lo) / m > 0.20)
                    printf "  note: the ratios spread from %.3f to %.3f, over 20%% of the median: a noisy run (a busy machine?); more or longer rounds steady it\n", lo, hi
            }' "$tmp/$framework${path//\//_}.ratio"
        if [[ $label == baseline:* ]]; then
            ratio_lines+=("$label throughput ratio: $(printf '%.3f' "$ratio") (what any middleware that reads the body first costs)")
        else
            ratio_lines+=("$label throughput ratio: $(printf '%.3f' "$ratio") (goal >= 0.86: $(
                awk -v r="$ratio" 'BEGIN { print (r >= 0.86 ? "met" : "not met") }'
            ))")
        fi
        echo "$label throughput ratio: $(printf '%.3f' "$ratio")"
    done
}

echo "1 KiB signed delivery; ${rounds} rounds x ${duration} s per route, wrk -t${threads} -c${connections}; ${pinning}"
if [[ -r /proc/loadavg ]]; then
    read -r load1 load5 _ </proc/loadavg
    echo "load average before the runs: $load1 (1 min), $load5 (5 min) on $(nproc) CPUs"
fi
bench axum /bare /buffered="baseline: buffering middleware/bare" /verified=layer/bare
bench actix /bare /verified="actix middleware/bare" /extractor="actix extractor/bare"

echo
echo "summary (median of per-round verified/bare ratios):"
for line in "${ratio_lines[@]}"; do
    echo "  $line"
done
