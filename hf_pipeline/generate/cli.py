"""``hf-pipeline generate``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from hf_pipeline.cli_options import (
    add_hub_options,
    add_json_option,
    add_output_option,
    add_tag_option,
    add_visibility_option,
    note,
    print_result,
    use_hub_options,
)
from hf_pipeline.config import help_default
from hf_pipeline.contract import MIN_SAMPLES_PER_INTENT
from hf_pipeline.errors import ConfigError
from hf_pipeline.generate.config import GenerateConfig
from hf_pipeline.io import check_outputs, file_output, folder_output
from hf_pipeline.repo_ids import check_repo_id


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate the template-based training data",
                       description="Generate a balanced, reproducible intent dataset from the "
                       "template files. Same seed, same bytes.")
    p.add_argument("--config", type=Path, help="YAML/JSON file of GenerateConfig options")
    add_output_option(p, help="output folder" + help_default(GenerateConfig, "output"))
    p.add_argument("--samples-per-intent", type=int, help="samples per intent, all splits"
                   + help_default(GenerateConfig, "samples_per_intent"))
    p.add_argument("--seed", type=int, help="random seed" + help_default(GenerateConfig, "seed"))
    p.add_argument("--augment-ratio", type=float, help="share of samples augmented"
                   + help_default(GenerateConfig, "augment_ratio"))
    p.add_argument("--option-ratio", type=float, help="share of samples (all intents but "
                   "Ambiguous) given an option phrase: depth, limit, language, path, output"
                   + help_default(GenerateConfig, "option_ratio"))
    p.add_argument("--augmentations", type=_names, help="comma-separated names (default: "
                   "all; see --list-augmentations)")
    p.add_argument("--templates", dest="templates_dir", type=Path, help="template folder")
    p.add_argument("--slots", dest="slots_file", type=Path, help="slot values YAML file")
    p.add_argument("--allow-small", action="store_true", default=None,
                   help=f"allow fewer than {MIN_SAMPLES_PER_INTENT} samples per intent (not a "
                   "training set)")
    p.add_argument("--verification-output", type=Path,
                   help="also write a 10%% stratified sample for human review to this file")
    p.add_argument("--no-dataset-dict", dest="write_dataset_dict", action="store_false",
                   default=None, help="skip the HF DatasetDict (JSON only)")
    p.add_argument("--list-augmentations", action="store_true",
                   help="list the augmentations and exit")
    add_json_option(p, result="the output folder, the statistics and what was published")
    p.add_argument("--push-to-hub", metavar="REPO_ID",
                   help="then publish it as a tagged version (see `dataset publish`)")
    add_tag_option(p, help="version tag for --push-to-hub, e.g. v1.0.0")
    add_visibility_option(p, default="public", what="the --push-to-hub dataset repo")
    add_hub_options(p)
    p.set_defaults(func=run)


def _names(text: str) -> tuple[str, ...]:
    """``a,b`` -> ("a", "b"), as GenerateConfig.augmentations holds them."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def run(args: argparse.Namespace) -> int:
    from hf_pipeline.config import resolve
    from hf_pipeline.generate import GenerateConfig, generate
    from hf_pipeline.generate.augment import AUGMENTATIONS
    from hf_pipeline.generate.outputs import STATS_JSON
    from hf_pipeline.generate.stats import format_stats

    if args.list_augmentations:
        print_result(args, [{"name": a.name, "weight": a.weight, "doc": a.doc}
                            for a in AUGMENTATIONS.values()],
                     lambda: "\n".join(f"{a.name:<15} weight {a.weight:<4} {a.doc}"
                                       for a in AUGMENTATIONS.values()))
        return 0
    if args.push_to_hub and not args.tag:
        raise ConfigError("--push-to-hub needs --tag (e.g. v1.0.0): every publish is a version.")
    if args.push_to_hub:  # refused before generating, not after
        from hf_pipeline.publish.versions import check_tag

        check_repo_id(args.push_to_hub, field="--push-to-hub")
        check_tag(args.tag)
    names = ("output", "samples_per_intent", "seed", "augment_ratio", "option_ratio",
             "augmentations",
             "templates_dir", "slots_file", "allow_small", "verification_output",
             "write_dataset_dict")
    cfg = resolve(GenerateConfig, config_file=args.config,
                  overrides={n: getattr(args, n) for n in names})
    check_outputs({"--output": folder_output(cfg.output),
                   "--verification-output": file_output(cfg.verification_output)},
                  inputs={**cfg.inputs, "--config": args.config})
    start = time.perf_counter()
    out = generate(cfg)
    elapsed = time.perf_counter() - start
    stats = json.loads((out / STATS_JSON).read_text(encoding="utf-8"))
    result = {"output": str(out), "verification_output": cfg.verification_output,
              "seconds": round(elapsed, 3), "stats": stats, "published": None}
    if not args.json:
        print(format_stats(stats))
    note(args, f"wrote {out} in {elapsed:.2f}s"
         + (f"; verification sample: {cfg.verification_output}" if cfg.verification_output
            else ""))
    if args.push_to_hub:
        use_hub_options(args)
        from hf_pipeline.publish import PublishDatasetConfig, publish_dataset

        published = publish_dataset(PublishDatasetConfig(
            data_dir=out, repo_id=args.push_to_hub, tag=args.tag,
            private=args.visibility == "private", verification_file=cfg.verification_output))
        result["published"] = dataclasses.asdict(published)
        note(args, f"{published.status}: {published.repo_id}@{published.tag} "
             f"(commit {published.commit[:12]})")
    print_result(args, result)
    return 0
