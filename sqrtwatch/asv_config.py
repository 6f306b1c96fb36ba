"""Settings that sqrtwatch reads from the project's asv.conf.json (the caller passes them to db/)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

ASV_CONFIG = Path("asv.conf.json")
THRESHOLDS_KEY = "regressions_thresholds"


class ConfigError(ValueError):
    """asv.conf.json holds a setting sqrtwatch cannot use; the message names the file and the setting."""


def load_thresholds(config_path: Path = ASV_CONFIG) -> dict[str, float]:
    """Minimum relative change per benchmark regex, from ``regressions_thresholds`` ({} without the file)."""
    if not config_path.is_file():
        return {}
    try:
        config = json.loads(config_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{config_path}: cannot read it as JSON: {exc}") from exc
    thresholds = config.get(THRESHOLDS_KEY, {}) if isinstance(config, dict) else None
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{config_path}: {THRESHOLDS_KEY} should map benchmark regexes to numbers")
    result = {}
    for pattern, value in thresholds.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{config_path}: {THRESHOLDS_KEY}: bad regex {pattern!r}: {exc}") from exc
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 <= value < math.inf):
            raise ConfigError(
                f"{config_path}: {THRESHOLDS_KEY}: {pattern!r} should map to a relative change "
                f"(a number from 0, e.g. 0.05), not {value!r}"
            )
        result[pattern] = float(value)
    return result
