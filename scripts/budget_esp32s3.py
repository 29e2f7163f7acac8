"""Write the ESP32-S3 budget of the shipped int8 model: benchmarks/deploy/esp32s3_budget.{json,md}.

Usage: python scripts/budget_esp32s3.py [--tflite PATH]
Flash, RAM and compute per hop, estimated from the .tflite's ops and ESP-NN's published kernel
figures (see gtcrn_micro/deploy/budget.py for the method). The book's chapter 6 reads the JSON.
"""

import argparse
import json
from pathlib import Path

from gtcrn_micro.deploy.budget import BUDGET_PATH, budget_markdown, esp32s3_budget


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tflite", default=None, help="int8 step (default: the shipped micro_int8.tflite)")
    parser.add_argument("--out", default=str(BUDGET_PATH), help="JSON path; the .md goes beside it")
    args = parser.parse_args()
    budget = esp32s3_budget(args.tflite)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(budget, indent=1) + "\n")
    out.with_suffix(".md").write_text(budget_markdown(budget))
    c = budget["compute"]
    print(f"{c['macs_per_hop']:,} MACs/hop, {c['n_ops']} ops: {c['total_ms'][0]}-{c['total_ms'][1]} ms per "
          f"{budget['hop_ms']:g} ms hop (central {c['central_ms']}); RAM {budget['ram']['total']:,} bytes; "
          f"written to {out} and {out.with_suffix('.md')}")


if __name__ == "__main__":
    main()
