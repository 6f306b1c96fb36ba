#!/usr/bin/env bash
# Keep sqrtwatch's persistent data as the assets of one GitHub release (tag sqrtwatch-data,
# never marked latest):
#   sqrtwatch.db.gz   the SQLite database, alerts and their triage state included
#   results.tar.gz    every asv results and context file so far (asv publish draws history from it)
# usage: data_store.sh pull DIR   fetch into DIR/sqrtwatch.db and DIR/results/ (empty on first run)
#        data_store.sh push DIR   upload them back (the database only if DIR/sqrtwatch.db exists,
#                                 so a PostgreSQL SQRTWATCH_DB leaves it alone)
# Needs the gh CLI and GH_TOKEN with contents: write for push.
set -euo pipefail

tag=${SQRTWATCH_DATA_TAG:-sqrtwatch-data}
usage="usage: $0 pull|push DIR"
action=${1:?$usage}
dir=${2:?$usage}

case "$action" in
pull)
    mkdir -p "$dir/results"
    if ! gh release view "$tag" >/dev/null 2>&1; then
        echo "no release $tag yet: starting with an empty history"
        exit 0
    fi
    gh release download "$tag" --dir "$dir" --clobber --pattern 'sqrtwatch.db.gz' --pattern 'results.tar.gz'
    if [[ -f "$dir/sqrtwatch.db.gz" ]]; then gunzip -f "$dir/sqrtwatch.db.gz"; fi
    if [[ -f "$dir/results.tar.gz" ]]; then
        tar -xzf "$dir/results.tar.gz" -C "$dir/results"
        rm "$dir/results.tar.gz"
    fi
    ;;
push)
    assets=("$dir/results.tar.gz")
    tar -czf "$dir/results.tar.gz" -C "$dir/results" .
    if [[ -f "$dir/sqrtwatch.db" ]]; then
        gzip -c "$dir/sqrtwatch.db" >"$dir/sqrtwatch.db.gz"
        assets+=("$dir/sqrtwatch.db.gz")
    fi
    if ! gh release view "$tag" >/dev/null 2>&1; then
        gh release create "$tag" --latest=false --title "sqrtwatch data" \
            --notes "Benchmark history and database kept by the benchmarks workflow. See docs/ci.md."
    fi
    gh release upload "$tag" "${assets[@]}" --clobber
    ;;
*)
    echo "$usage" >&2
    exit 2
    ;;
esac
