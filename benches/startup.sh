#!/usr/bin/env bash
# First frame, idle memory and idle CPU of the release binary (SPEC §6), measured as a user
# sees them: the binary runs in a private tmux server and capture-pane is polled.
#   first frame = median(time to the dashboard's header) - median(time to a plain printf)
# Usage: benches/startup.sh [path/to/shipdeck]    (RUNS=10 IDLE_SECS=30 to change)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/shipdeck}")
runs=${RUNS:-10}
idle_secs=${IDLE_SECS:-30}
work=$(mktemp -d)
sock="shipdeck-bench-$$"
trap 'for s in /tmp/tmux-$(id -u)/shipdeck-bench-$$*; do tmux -S "$s" kill-server 2>/dev/null; done; kill "${sim_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

# A profile whose server is a simulator started here (for idle numbers), and one whose
# server does not answer (the first frame must not wait for the network).
"$bin" simulate --port 0 > "$work/sim.txt" 2>&1 &
sim_pid=$!
until grep -q "^  Free Commit" "$work/sim.txt" 2>/dev/null; do sleep 0.05; done
fc_url=$(awk '/^  Free Commit/ {print $3; exit}' "$work/sim.txt")
cat > "$work/config.toml" <<TOML
default_profile = "bench"
[profiles.bench]
kind = "freecommit"
url = "$fc_url"
username = "admin"
password = "admin"
[profiles.offline]
kind = "freecommit"
url = "http://127.0.0.1:9/"
username = "admin"
password = "admin"
TOML
chmod 600 "$work/config.toml"
export XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache" XDG_CONFIG_HOME="$work/cfg"


time_to() { # command, needle -> microseconds until the needle is on screen
  local start end sock
  sock="shipdeck-bench-$$-$(date +%s%N)"  # a fresh tmux server each time: no shutdown races
  start=$(date +%s%N)
  tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 35 "$1"
  until tmux -L "$sock" capture-pane -p 2>/dev/null | grep -q "$2"; do
    if (( ($(date +%s%N) - start) > 10000000000 )); then echo "no '$2' on screen after 10 s" >&2; exit 1; fi
  done
  end=$(date +%s%N)
  tmux -L "$sock" kill-server 2>/dev/null || true
  echo $(( (end - start) / 1000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

base=(); app=()
for _ in $(seq "$runs"); do
  base+=("$(time_to "printf 'shipdeck offline\n'; sleep 5" "shipdeck offline")")
  app+=("$(time_to "exec $bin --config $work/config.toml --profile offline" "offline freecommit")")
done
b=$(printf '%s\n' "${base[@]}" | median); a=$(printf '%s\n' "${app[@]}" | median)
amin=$(printf '%s\n' "${app[@]}" | sort -n | head -1); amax=$(printf '%s\n' "${app[@]}" | sort -n | tail -1)
echo "first frame: $(( (a - b) / 1000 )) ms median over $runs runs (app ${a}us [min ${amin} max ${amax}] - printf ${b}us); goal <= 30 ms"

# Idle: logged in, nothing happening but the periodic refresh.
tmux -L "$sock" -f /dev/null new-session -d -x 120 -y 35 "exec $bin --config $work/config.toml"
until tmux -L "$sock" capture-pane -p 2>/dev/null | grep -q "online"; do sleep 0.05; done
pid=$(tmux -L "$sock" list-panes -F '#{pane_pid}')
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); sleep "$idle_secs"; t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hz=$(getconf CLK_TCK)
echo "idle: RSS $(( rss / 1024 )) MB (goal < 20 MB); CPU $(( (t1 - t0) * 1000 / hz )) ms over ${idle_secs} s (list refresh every 5 s included)"
