#!/usr/bin/env bash
# All performance promises in one go, against their goals (SPEC §6, issue #4):
# log ingest and memory, frame time while following, list scroll, log diff (issue 12), first
# frame, idle.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
echo "== log ingest (benches/log_ingest.rs)"
cargo bench --quiet --bench log_ingest
echo "== frames (benches/frames.rs)"
cargo bench --quiet --bench frames
echo "== log diff (benches/log_diff.rs)"
cargo bench --quiet --bench log_diff
echo "== startup and idle (benches/startup.sh)"
benches/startup.sh target/release/shipdeck
echo "== fault soak (benches/soak.rs; SOAK_SECS=600 for 10 minutes)"
cargo bench --quiet --bench soak
