"""``hubtree sim``: the local hub simulator and the world builders (tests, demo, benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hubtree.errors import friendly_errors

app = typer.Typer(no_args_is_help=True)


@app.command("serve")
@friendly_errors
def serve(
    world: Annotated[Path, typer.Option("--world", help="World directory (hf.jsonl[.gz], modelscope.jsonl[.gz]).")],
    host: Annotated[str, typer.Option(help="Address to bind (loopback only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port; 0 picks a free one.")] = 0,
    page_max: Annotated[int, typer.Option("--page-max", help="Largest page the HF listing returns.")] = 1000,
    quota: Annotated[int | None, typer.Option(help="Requests per window per bucket (default: no limit).")] = None,
    window: Annotated[float, typer.Option(help="Rate-limit window in seconds.")] = 300.0,
    fault_rate: Annotated[float, typer.Option("--fault-rate", help="Share of answers replaced by a fault.")] = 0.0,
    latency_ms: Annotated[int, typer.Option("--latency-ms", help="Response time of each answer (the answer's own work included).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the fault injector.")] = 0,
) -> None:
    """Serve a world over loopback; prints the base URL as the first line, stops on SIGTERM/SIGINT."""
    from hubsim.server import SimConfig, serve_forever

    serve_forever(world, SimConfig(host=host, port=port, page_max=page_max, quota=quota, window=window,
                                   fault_rate=fault_rate, latency_ms=latency_ms, seed=seed))


@app.command("generate")
@friendly_errors
def generate(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the world into.")],
    qwen: Annotated[int, typer.Option("--qwen", help="Number of Qwen-family models (roots + derivatives).")] = 10_000,
    others: Annotated[int, typer.Option("--others", help="Number of models of other families.")] = 10_000,
    modelscope: Annotated[int | None, typer.Option(help="ModelScope records (default: about 10% of --qwen).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same world).")] = 0,
) -> None:
    """Generate a synthetic world calibrated to the real data, with its ground truth in ``_truth/``."""
    from hubsim.generate import GeneratorConfig, generate_world

    summary = generate_world(out, GeneratorConfig(qwen=qwen, others=others, modelscope=modelscope, seed=seed))
    typer.echo(summary.describe())


@app.command("evolve")
@friendly_errors
def evolve(
    world: Annotated[Path, typer.Option("--world", help="The world to start from.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the later snapshot.")],
    new: Annotated[int, typer.Option(help="New models.")] = 1000,
    edited: Annotated[int, typer.Option(help="Edited models (new sha, lastModified and card).")] = 500,
    deleted: Annotated[int, typer.Option(help="Deleted models.")] = 100,
    days: Annotated[int, typer.Option(help="How much later the snapshot is.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Write a later snapshot of a generated world (for incremental crawls and monthly growth)."""
    from hubsim.generate import evolve_world

    typer.echo(evolve_world(world, out, new=new, edited=edited, deleted=deleted, seed=seed, days=days).describe())


@app.command("build-sample")
@friendly_errors
def build_sample(
    real: Annotated[Path, typer.Option("--real", help="The real recorded data (../shared/data/real).")] = Path(
        "../shared/data/real"),
    out: Annotated[Path, typer.Option("--out", help="Where to write the sample world.")] = Path("data/sample"),
) -> None:
    """Rebuild the bundled sample world ``data/sample`` from the real recorded data."""
    from hubsim.sample_world import build_sample_world

    summary = build_sample_world(real, out)
    typer.echo(summary.describe())
