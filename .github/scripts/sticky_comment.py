#!/usr/bin/env python3
"""Post or update the one sqrtwatch comment on a pull request.

Runs in the `workflow_run` job, which holds a write token but never runs the PR's code:
its inputs (the PR number and the comparison markdown) come from the PR job's artifact,
so they are treated as untrusted data: the number must be a PR whose head is the commit
the PR job ran on (else the results are stale and nothing is posted), the body is only ever
sent as comment text, and only a marked comment written by the workflow's own account is
edited (anyone can paste the marker into a comment of theirs).
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

MARKER = "<!-- sqrtwatch:pr-benchmarks -->"
# The account GITHUB_TOKEN posts as; --author adds another (an app or a user token's login).
ACTIONS_BOT = "github-actions[bot]"
# GitHub rejects comment bodies over 65,536 characters.
MAX_BODY = 65_000


class CommentError(RuntimeError):
    """The artifact, the pull request or GitHub's answer does not allow posting."""


class Stale(RuntimeError):
    """The PR moved on since the benchmarked commit: its results would mislead."""


def read_pr_number(path: Path) -> int:
    """The PR number the PR job wrote, checked to be a plain positive integer."""
    text = path.read_text().strip() if path.is_file() else ""
    if not re.fullmatch(r"[1-9][0-9]{0,9}", text):
        raise CommentError(f"{path}: expected a pull request number, found {text[:40]!r}")
    return int(text)


def comment_body(markdown: str, run_url: str) -> str:
    """The comment text: the marker that finds it again, the comparison, a link to the run."""
    footer = f"\n\n<sub>sqrtwatch, [workflow run]({run_url})</sub>\n"
    room = MAX_BODY - len(MARKER) - len(footer) - 1
    if len(markdown) > room:
        markdown = markdown[: room - 60] + "\n\n_(truncated: the full report is in the run's artifact)_"
    return f"{MARKER}\n{markdown.rstrip()}{footer}"


def find_sticky_comment(comments: list[dict], authors: set[str]) -> int | None:
    """The id of the earliest comment carrying the marker written by one of ``authors``, if any."""
    for comment in comments:
        author = (comment.get("user") or {}).get("login")
        if author in authors and MARKER in (comment.get("body") or ""):
            return comment["id"]
    return None


# What a refusal usually means here, by HTTP status.
HINTS = {
    401: "the token is invalid or expired",
    403: "the token lacks a permission (pull-requests: write?) or a rate limit was hit",
    404: "no such pull request or comment in this repository, or the token cannot see it",
    422: "GitHub refused the comment body",
}


class GitHub:
    """The few REST calls this script makes, with the workflow's token."""

    def __init__(self, api_url: str, repository: str, token: str):
        self.base = f"{api_url.rstrip('/')}/repos/{repository}"
        self.token = token

    def call(self, method: str, path: str, payload: dict | None = None):
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if payload is None else json.dumps(payload).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read() or b"{}").get("message", "")
            except ValueError:
                message = ""
            hint = HINTS.get(exc.code, "GitHub's side failed; re-run the job later")
            raise CommentError(
                f"GitHub answered {exc.code} {exc.reason} to {method} {path}"
                + (f" ({message})" if message else "")
                + f": {hint}"
            ) from exc
        except (urllib.error.URLError, TimeoutError) as exc:
            raise CommentError(f"cannot reach GitHub at {self.base} for {method} {path}: {exc}") from exc

    def issue_comments(self, number: int) -> list[dict]:
        comments, page = [], 1
        while True:
            batch = self.call("GET", f"/issues/{number}/comments?per_page=100&page={page}")
            comments += batch
            if len(batch) < 100:
                return comments
            page += 1


def post(github: GitHub, number: int, head_sha: str, body: str, authors: set[str]) -> str:
    """Update our sticky comment on PR ``number``, or create it; return what was done."""
    pull = github.call("GET", f"/pulls/{number}")
    if pull["head"]["sha"] != head_sha:
        raise Stale(
            f"PR #{number} is at {pull['head']['sha'][:12]}, the benchmark ran on {head_sha[:12]}: "
            "not posting stale results (the run for the new head posts its own)"
        )
    existing = find_sticky_comment(github.issue_comments(number), authors)
    if existing is None:
        github.call("POST", f"/issues/{number}/comments", {"body": body})
        return f"created the comment on PR #{number}"
    github.call("PATCH", f"/issues/comments/{existing}", {"body": body})
    return f"updated comment {existing} on PR #{number}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report_dir", type=Path, help="The PR job's artifact: pr-number and comparison.md.")
    parser.add_argument(
        "--head-sha", required=True, help="The commit the PR job ran on (workflow_run.head_sha)."
    )
    parser.add_argument("--run-url", required=True)
    parser.add_argument(
        "--author",
        action="append",
        default=[],
        help=f"Another login whose marked comment may be edited (besides {ACTIONS_BOT}).",
    )
    args = parser.parse_args(argv)

    try:
        number = read_pr_number(args.report_dir / "pr-number")
        markdown_path = args.report_dir / "comparison.md"
        if not markdown_path.is_file():
            raise CommentError(f"{markdown_path}: missing (did the comparison step run?)")
        body = comment_body(markdown_path.read_text(errors="replace"), args.run_url)
        github = GitHub(
            os.environ["GITHUB_API_URL"], os.environ["GITHUB_REPOSITORY"], os.environ["GITHUB_TOKEN"]
        )
        print(post(github, number, args.head_sha, body, {ACTIONS_BOT, *args.author}))
    except Stale as exc:
        print(f"::notice::sticky_comment: {exc}")
    except CommentError as exc:
        raise SystemExit(f"sticky_comment: {exc}") from exc


if __name__ == "__main__":
    main()
