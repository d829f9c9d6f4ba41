#!/usr/bin/env bash
# `greenlight changelog` over a whole history of N commits (default 50,000), side by side in one
# run with git-cliff (its default config) and `git log` printing the same fields, median of R runs.
# Usage: bash bench/changelog.sh [COMMITS] [RUNS]. Needs git-cliff (`cargo install git-cliff`).
set -euo pipefail
cd "$(dirname "$0")/.."
commits="${1:-50000}"
runs="${2:-5}"
repo="target/bench-history-$commits"
bin="$PWD/target/release/greenlight"

command -v git-cliff >/dev/null || { echo "git-cliff not found: cargo install git-cliff" >&2; exit 1; }
cargo build --release --quiet -p greenlight
if [ ! -d "$repo/.git" ]; then
  rm -rf "$repo" && git init -q -b main "$repo"
  python3 bench/history.py "$commits" | git -C "$repo" fast-import --quiet
  git -C "$repo" reset -q --hard main
  git -C "$repo" gc -q
fi
echo "repository: $repo ($(git -C "$repo" rev-list --count HEAD) commits, packed)"

median() { # command...: prints the median wall time in ms of $runs runs (after one warm-up)
  "$@" >/dev/null 2>&1
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
  done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

cd "$repo"
ours=$(median "$bin" changelog)
ours_json=$(median "$bin" changelog --json)
cliff=$(median git-cliff)
gitlog=$(median git log --format='%H%x1f%an%x1f%ae%x1f%at%x1f%B%x1e' HEAD)
printf '%-44s %8s\n' "tool (whole history, median of $runs)" "ms"
printf '%-44s %8s\n' "greenlight changelog (Markdown)" "$ours"
printf '%-44s %8s\n' "greenlight changelog --json (with facts)" "$ours_json"
printf '%-44s %8s\n' "git-cliff $(git-cliff --version | awk '{print $2}') (default config)" "$cliff"
printf '%-44s %8s\n' "git log --format=<id, author, time, body>" "$gitlog"
awk -v o="$ours" -v c="$cliff" -v g="$gitlog" \
  'BEGIN { printf "greenlight is %.1fx faster than git-cliff and %.2fx the time of git log\n", c / o, o / g }'
