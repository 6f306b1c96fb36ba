#!/usr/bin/env bash
# Keep sqrtwatch's persistent data as the assets of one GitHub release (tag sqrtwatch-data,
# never marked latest):
#   sqrtwatch.db.gz            the SQLite database, alerts and their triage state included
#   results.tar.gz             every asv results and context file so far (asv publish draws history from it)
#   previous-sqrtwatch.db.gz, previous-results.tar.gz   the copies before the last push
# usage: data_store.sh pull DIR   fetch into DIR/sqrtwatch.db and DIR/results/ (empty only when
#                                 the release does not exist yet); any other gh error fails
#        data_store.sh pull-db DIR  only the database, read-only: no push may follow it (the PR
#                                 check's run-to-run noise); nothing when there is no release yet
#        data_store.sh push DIR   check and upload them back (the database only if DIR/sqrtwatch.db
#                                 exists, so a PostgreSQL SQRTWATCH_DB leaves it alone); refuses
#                                 unless a pull into DIR succeeded
# Needs the gh CLI and GH_TOKEN (contents: read for pull, write for push).
set -euo pipefail

tag=${SQRTWATCH_DATA_TAG:-sqrtwatch-data}
usage="usage: $0 pull|pull-db|push DIR"
action=${1:?$usage}
dir=${2:?$usage}
pulled="$dir/.pulled" # written by a pull that succeeded: what push may replace

fail() {
    echo "data_store: $*" >&2
    exit 1
}

# "yes" or "no" for the release; exits on any other gh failure (outage, rate limit, auth).
release_exists() {
    local out
    if out=$(gh release view "$tag" --json tagName 2>&1); then
        echo yes
    elif [[ "$out" == *"release not found"* ]]; then
        echo no
    else
        fail "cannot tell whether release $tag exists (gh: ${out//$'\n'/ }); not touching the history"
    fi
}

check_db() { # a gzip of a SQLite file that passes its own integrity check
    local tmp
    tmp=$(mktemp)
    gzip -dc "$1" >"$tmp" || fail "$1: not a gzip file"
    python3 - "$tmp" "$1" <<'PY' || fail "$1: the database fails its integrity check"
import sqlite3, sys
result = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("PRAGMA integrity_check").fetchone()[0]
if result != "ok":
    sys.exit(f"{sys.argv[2]}: {result}")
PY
    rm -f "$tmp"
}

check_tar() { tar -tzf "$1" >/dev/null || fail "$1: not a readable tar.gz"; }

case "$action" in
pull)
    rm -f "$pulled"
    mkdir -p "$dir/results"
    if [[ $(release_exists) == no ]]; then
        echo "no release $tag yet: starting with an empty history"
        echo empty >"$pulled"
        exit 0
    fi
    assets=$(gh release view "$tag" --json assets --jq '.assets[].name') || fail "cannot list the assets of $tag"
    kept="$dir/.pulled-assets" # as downloaded: push uploads them as previous-*
    rm -rf "$kept"
    mkdir -p "$kept"
    for name in sqrtwatch.db.gz results.tar.gz; do
        if ! grep -qx "$name" <<<"$assets"; then
            if grep -qx "previous-$name" <<<"$assets"; then
                fail "$tag has previous-$name but no $name: a push was interrupted; restore it by hand (docs/ci.md)"
            fi
            continue
        fi
        gh release download "$tag" --dir "$kept" --clobber --pattern "$name" || fail "download of $name failed"
    done
    if [[ -f "$kept/sqrtwatch.db.gz" ]]; then
        check_db "$kept/sqrtwatch.db.gz"
        gzip -dc "$kept/sqrtwatch.db.gz" >"$dir/sqrtwatch.db"
    fi
    if [[ -f "$kept/results.tar.gz" ]]; then
        check_tar "$kept/results.tar.gz"
        tar -xzf "$kept/results.tar.gz" -C "$dir/results"
    fi
    echo release >"$pulled"
    ;;
pull-db)
    mkdir -p "$dir"
    if [[ $(release_exists) == no ]]; then
        echo "no release $tag yet: no history"
        exit 0
    fi
    assets=$(gh release view "$tag" --json assets --jq '.assets[].name') || fail "cannot list the assets of $tag"
    if ! grep -qx sqrtwatch.db.gz <<<"$assets"; then
        echo "release $tag holds no sqrtwatch.db.gz: no history"
        exit 0
    fi
    gh release download "$tag" --dir "$dir" --clobber --pattern sqrtwatch.db.gz || fail "download of sqrtwatch.db.gz failed"
    check_db "$dir/sqrtwatch.db.gz"
    gunzip -f "$dir/sqrtwatch.db.gz"
    ;;
push)
    [[ -f "$pulled" ]] || fail "no successful pull into $dir: refusing to overwrite the history"
    staged="$dir/.push"
    rm -rf "$staged"
    mkdir -p "$staged"
    tar -czf "$staged/results.tar.gz" -C "$dir/results" .
    check_tar "$staged/results.tar.gz"
    assets=("$staged/results.tar.gz")
    if [[ -f "$dir/sqrtwatch.db" ]]; then
        gzip -c "$dir/sqrtwatch.db" >"$staged/sqrtwatch.db.gz"
        check_db "$staged/sqrtwatch.db.gz"
        assets+=("$staged/sqrtwatch.db.gz")
    fi
    if [[ $(cat "$pulled") == empty ]]; then
        [[ $(release_exists) == no ]] || fail "release $tag appeared since the pull: run again"
        gh release create "$tag" --latest=false --title "sqrtwatch data" \
            --notes "Benchmark history and database kept by the benchmarks workflow. See docs/ci.md."
    else
        # The copies being replaced stay as previous-*: an interrupted upload loses nothing.
        backups=()
        for name in sqrtwatch.db.gz results.tar.gz; do
            if [[ -f "$dir/.pulled-assets/$name" ]]; then
                cp "$dir/.pulled-assets/$name" "$staged/previous-$name"
                backups+=("$staged/previous-$name")
            fi
        done
        if ((${#backups[@]})); then gh release upload "$tag" "${backups[@]}" --clobber; fi
    fi
    gh release upload "$tag" "${assets[@]}" --clobber
    rm -rf "$staged"
    echo "pushed ${assets[*]##*/} to release $tag"
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
