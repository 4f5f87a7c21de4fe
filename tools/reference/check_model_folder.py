#!/usr/bin/python3
"""Checks a whole Hugging Face model folder (e.g. the shipped models/lethe-demo) against Lethe.

Loads the folder with check_models_reference.py's module-style PyTorch implementation (HF tensor
names, strict key check: what `from_pretrained` would find missing or unexpected), runs the
prompts below through it, and compares the logits with `./lethe logits` on the same ids.
Prints the largest absolute difference per prompt and exits 1 above the tolerance.

Usage (Debian's interpreter, from the repository root):
    /usr/bin/python3 tools/reference/check_model_folder.py models/lethe-demo
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_models_reference import build  # noqa: E402
from fixture_io import read_safetensors  # noqa: E402

PROMPTS = [
    # One line each: `lethe tokenize` reads one text per line.
    "Question: Emma has 22 apples and gives half of them to Ben. How many apples does Emma have left? Answer: Half of 22 is",
    "Context: Ben Lange wohnt in Rostock. Er arbeitet als Koch. Question: Als was arbeitet Ben Lange? Answer:",
]
TOLERANCE = 1e-4  # float32 logits; sums run in a different order



def main(argv):
    folder = argv[0] if argv else "models/lethe-demo"
    torch.set_num_threads(1)
    cfg, model, _ = build(folder)
    model.eval()
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i, text in enumerate(PROMPTS):
            ids = json.loads(subprocess.run(["./lethe", "tokenize", "--tokenizer", folder, "--add-special"],
                                            input=text + "\n", capture_output=True, text=True, check=True).stdout.splitlines()[0])
            path = os.path.join(tmp, f"logits{i}.safetensors")
            subprocess.run(["./lethe", "logits", folder, "--ids", ",".join(map(str, ids)), "--out", path, "--quiet"], check=True, capture_output=True)
            lethe = read_safetensors(path)["logits"]
            with torch.no_grad():
                ref, _ = model(torch.tensor([ids]), [])
                ref = ref.reshape(len(ids), -1)
            diff = (lethe.reshape(ref.shape) - ref).abs().max().item()
            worst = max(worst, diff)
            print(f"prompt {i}: {len(ids)} tokens, max |logit difference| {diff:.2e}, same argmax at every position: {bool((lethe.reshape(ref.shape).argmax(-1) == ref.argmax(-1)).all())}")
    print(f"{folder}: {'ok' if worst <= TOLERANCE else 'FAIL'} (worst {worst:.2e}, tolerance {TOLERANCE:.0e}); strict key check passed ({cfg.model_type})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
