# Sourced by the other scripts: makes sure .venv and .venv-sam hold the
# pinned tools, reinstalling only when a requirements file changed; finds
# free ports, waits for servers, starts a dev server to test against.
# Where cargo puts what it builds: CARGO_TARGET_DIR when set (a warm cache
# outside the clone is a speed-up), else target/. Logs stay in target/.
bin=${CARGO_TARGET_DIR:-target}

ensure_venv() {
    local venv=$1 requirements=$2
    if [ ! -f "$venv/.requirements" ] || ! cmp -s "$requirements" "$venv/.requirements"; then
        echo "==> installing $requirements into $venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$venv/.requirements"
    fi
}

# What a script starts goes into pids, each process in a group of its own
# (setsid) or alone; `trap stop_started EXIT INT TERM` ends them all, pass
# or fail.
pids=()
stop_started() {
    for pid in "${pids[@]}"; do
        kill -- "-$pid" 2> /dev/null || kill "$pid" 2> /dev/null || true
    done
    wait 2> /dev/null || true
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL [SECONDS]: until URL answers at all.
wait_for() {
    local url=$1 seconds=${2:-30}
    python3 - "$url" "$seconds" << 'PY'
import sys, time, urllib.request, urllib.error
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(f"{sys.argv[1]} did not answer in {sys.argv[2]} s")
PY
}

# start_dev_server LOG [NAME=VALUE...]: a debug dev server on the memory
# backend, on a free port, with the given settings, logging to LOG. Sets
# $base to its URL and stops it when the calling script exits.
start_dev_server() {
    local log=$1 port
    shift
    cargo build --locked --quiet -p dev-server
    port=$(free_port)
    base="http://127.0.0.1:$port"
    env PORT="$port" BACKEND=memory "$@" setsid "$bin/debug/dev-server" > "$log" 2>&1 &
    dev_server_pid=$!
    trap 'kill -- "-$dev_server_pid" 2> /dev/null || true' EXIT
    wait_for "$base/"
}

# start_tls_proxy UPSTREAM_PORT: a TLS terminator (scripts/tls_proxy.py) in
# front of the moto on UPSTREAM_PORT, with a throwaway authority. Sets
# $tls_endpoint and $tls_bundle (that authority beside the system roots,
# for SSL_CERT_FILE) and adds its pid to $pids for the caller's cleanup.
start_tls_proxy() {
    local upstream=$1 port dir
    port=$(free_port)
    dir=target/bench-tls
    rm -rf "$dir"
    setsid .venv/bin/python scripts/tls_proxy.py "$port" "127.0.0.1:$upstream" "$dir" > target/tls-proxy.log 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        [ -f "$dir/ready" ] && break
        sleep 0.1
    done
    if [ ! -f "$dir/ready" ]; then
        cat target/tls-proxy.log
        return 1
    fi
    tls_endpoint="https://localhost:$port"
    tls_bundle="$PWD/$dir/ca-bundle.pem"
}
