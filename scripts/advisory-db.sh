#!/usr/bin/env bash
# Makes the RustSec advisory snapshot in ../shared usable by `cargo deny --offline`.
# cargo-deny reads its database from a git checkout at <db-path>/advisory-db-<hash of the URL>
# (it asks git for the HEAD commit date), and the snapshot is plain files: copy it into a
# one-commit repository dated like the snapshot. Redone only when the snapshot changes.
set -euo pipefail
cd "$(dirname "$0")/.."

# ../shared beside the clone (CI); further up for a worktree nested one level deeper.
SNAPSHOT_DIR="${TESSERA_ADVISORY_DB:-}"
if [ -z "$SNAPSHOT_DIR" ]; then
  for candidate in ../shared/advisory-db ../../shared/advisory-db; do
    if [ -f "$candidate/SNAPSHOT" ]; then SNAPSHOT_DIR=$candidate; break; fi
  done
fi
SNAPSHOT_DIR="${SNAPSHOT_DIR:-../shared/advisory-db}"
# The directory name cargo-deny derives from https://github.com/rustsec/advisory-db.
DB_DIR=.deny/advisory-dbs/advisory-db-3157b0e258782691

[ -f "$SNAPSHOT_DIR/SNAPSHOT" ] || { echo "advisory snapshot not found at $SNAPSHOT_DIR" >&2; exit 1; }
if [ -f "$DB_DIR/SNAPSHOT" ] && cmp -s "$SNAPSHOT_DIR/SNAPSHOT" "$DB_DIR/SNAPSHOT"; then
  exit 0
fi
rm -rf "$DB_DIR"
mkdir -p "$DB_DIR"
cp -R "$SNAPSHOT_DIR/." "$DB_DIR/"
chmod -R u+w "$DB_DIR"
# The snapshot's own date (from "... (YYYY-MM-DD)") becomes the commit date, so cargo-deny's
# staleness check sees the data's real age.
date=$(sed -n 's/.*(\([0-9-]*\)).*/\1/p' "$SNAPSHOT_DIR/SNAPSHOT" | head -n 1)
export GIT_AUTHOR_DATE="${date:-1970-01-01}T00:00:00Z" GIT_COMMITTER_DATE="${date:-1970-01-01}T00:00:00Z"
git -C "$DB_DIR" init -q
git -C "$DB_DIR" add -A
git -C "$DB_DIR" -c user.name=tessera -c user.email=tessera@localhost -c commit.gpgsign=false \
  commit -q -m "$(cat "$SNAPSHOT_DIR/SNAPSHOT")"
echo "advisory database prepared from $(cat "$SNAPSHOT_DIR/SNAPSHOT")"
