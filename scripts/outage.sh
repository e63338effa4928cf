#!/usr/bin/env bash
# Storage outage against the real relay and a real SeaweedFS: S3 is stopped
# for SECONDS (default 30) while a client keeps writing; every write must be
# acked from the WAL, /readyz and the metrics must show the lag, and once S3
# is back every note must be snapshotted with nothing lost (checked by a
# fresh relay that has only S3 to go by).
#
#   scripts/outage.sh [SECONDS]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$HOME/.cargo/bin:$PATH"
TESSERA_S3_OUTAGE_SECS="${1:-30}" exec cargo test -q -p tessera-relay --test s3 \
  while_s3_is_down_the_relay_keeps_acking -- --nocapture
