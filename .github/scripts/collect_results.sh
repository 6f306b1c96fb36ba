#!/usr/bin/env bash
# Download the results artifacts of earlier completed benchmarks runs on BRANCH whose publish
# job did not succeed (GitHub cancels a pending publish when a third run queues, or it failed),
# one folder per run under INCOMING: ingest is idempotent, so filing a run twice adds nothing.
# usage: collect_results.sh INCOMING THIS_RUN_ID BRANCH   (needs gh and GH_TOKEN with actions: read)
set -euo pipefail
usage="usage: $0 INCOMING THIS_RUN_ID BRANCH"
incoming=${1:?$usage}
this_run=${2:?$usage}
branch=${3:?$usage}
limit=${SQRTWATCH_COLLECT_RUNS:-20}

runs=$(gh run list --workflow benchmarks.yml --branch "$branch" --status completed --limit "$limit" \
    --json databaseId --jq '.[].databaseId')
for id in $runs; do
    [[ "$id" != "$this_run" ]] || continue
    published=$(gh run view "$id" --json jobs --jq '.jobs[] | select(.name == "publish") | .conclusion')
    [[ "$published" != success ]] || continue
    tmp=$(mktemp -d)
    if ! out=$(gh run download "$id" --pattern 'results-*' --dir "$tmp" 2>&1); then
        rm -rf "$tmp"
        if [[ "$out" == *"no valid artifacts found"* || "$out" == *"no artifact matches"* ]]; then
            echo "run $id: no results artifacts left (expired or none measured)"
            continue
        fi
        echo "collect_results: run $id: ${out//$'\n'/ }" >&2
        exit 1
    fi
    mkdir -p "$incoming/run-$id"
    for artifact in "$tmp"/*/; do cp -R "$artifact." "$incoming/run-$id/"; done
    rm -rf "$tmp"
    echo "run $id: publish ${published:-never ran}; its results are filed now"
done
