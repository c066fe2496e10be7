#!/usr/bin/env bash
# Records real Remote Write 1.0 requests from the Debian Prometheus (2.42) into
# crates/core/testdata/prometheus-2.42/: Prometheus scrapes itself every second and
# remote-writes to capture_server.py on a free 127.0.0.1 port. Everything started here
# is stopped by PID on exit (trap), also on failure or Ctrl-C.
#
# usage: crates/core/testdata/capture.sh [MAX_REQUESTS]   (PROMETHEUS_BIN overrides the binary)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/prometheus-2.42"
prometheus="${PROMETHEUS_BIN:-/usr/bin/prometheus}"
max="${1:-8}"
work="$(mktemp -d)"
pids=()

cleanup() {
    # Newest first: Prometheus before the endpoint it writes to.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

python3 "$here/capture_server.py" --out "$work/out" --port-file "$work/port" --max "$max" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
capture_port="$(cat "$work/port")"
prom_port="$(free_port)"

cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$prom_port"]
remote_write:
  - url: http://127.0.0.1:$capture_port/api/v1/write
    name: capture
    queue_config:
      batch_send_deadline: 1s
    metadata_config:
      send: true
      send_interval: 2s
EOF

"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" --storage.remote.flush-deadline=1s --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)
echo "prometheus on 127.0.0.1:$prom_port, capture on 127.0.0.1:$capture_port" >&2

# The capture server exits by itself after $max requests.
deadline=$((SECONDS + 90))
while kill -0 "${pids[0]}" 2>/dev/null; do
    if [ $SECONDS -gt $deadline ]; then
        echo "timed out waiting for $max requests; prometheus log:" >&2
        cat "$work/prometheus.log" >&2
        exit 1
    fi
    sleep 0.5
done

mkdir -p "$dest"
samples="$(ls "$work/out"/*-samples.bin | head -n 1)"
metadata="$(ls "$work/out"/*-metadata.bin | head -n 1)"
for f in "$samples" "$metadata"; do
    [ -n "$f" ] || { echo "missing a samples or metadata request in $work/out" >&2; exit 1; }
done
cp "$samples" "$dest/samples.bin"
cp "${samples%.bin}.headers" "$dest/samples.headers"
cp "$metadata" "$dest/metadata.bin"
cp "${metadata%.bin}.headers" "$dest/metadata.headers"
"$prometheus" --version 2>&1 | head -n 1 >"$dest/VERSION"
ls -l "$work/out" >&2
echo "saved $dest/{samples,metadata}.{bin,headers}" >&2
