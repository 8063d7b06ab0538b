#!/bin/bash
# bench/profile-endpoint.sh <name> <GET|POST>: the built server (npm run build first; SQLite, --auth none) under
# autocannon -c 50 for 10 s on GET /api/v1/experiment/{id} or POST /api/v1/experiment, CPU-profiled into
# /tmp/prof-<name>/; then: node --import tsx bench/profile-top.ts /tmp/prof-<name>/*.cpuprofile
set -u
name=$1; method=$2
rm -rf /tmp/prof-$name /tmp/prof-data-$name; mkdir -p /tmp/prof-$name
node --cpu-prof --cpu-prof-dir=/tmp/prof-$name packages/server/dist/server.mjs --data-dir /tmp/prof-data-$name --auth none --host 127.0.0.1 --port 18130 --cpus 64 --memory 1024G --gpus none --log-level warn &
pid=$!
for i in $(seq 1 100); do curl -sf http://127.0.0.1:18130/api/v1/experiment/ping >/dev/null && break; sleep 0.1; done
body='{"meta":{"name":"stored","framework":"Custom","cmd":"true"},"spec":{"Worker":{}},"autoStart":false}'
ID=$(curl -s -XPOST -H content-type:application/json -d "$body" http://127.0.0.1:18130/api/v1/experiment | python3 -c 'import json,sys;print(json.load(sys.stdin)["result"]["experimentId"])')
if [ "$method" = GET ]; then node_modules/.bin/autocannon -c 50 -d 10 http://127.0.0.1:18130/api/v1/experiment/$ID 2>&1 | grep -E "Req/Sec|requests in" ;
else node_modules/.bin/autocannon -c 50 -d 10 -m POST -H content-type=application/json -b "$body" http://127.0.0.1:18130/api/v1/experiment 2>&1 | grep -E "Req/Sec|requests in"; fi
kill -INT $pid; wait $pid
