"""One SFT stage on Ray Train: packed rows from Ray Data in, Hugging Face checkpoints out.

The driver tokenizes and packs the exported trajectories with Ray Data (``packed_dataset``), and a
``TorchTrainer`` runs ``train_loop`` on every worker: DDP, or FSDP2 (``fully_shard`` per
decoder layer, bf16 compute over fp32 master weights) for the big models on GPU; AdamW, cosine
schedule with warm-up, optional gradient checkpointing. Every ``checkpoint_every`` steps the full
state is reported to Ray Train as a directory ``from_pretrained`` loads (weights, config,
tokenizer) plus ``trainer_state.pt`` (optimizer, scheduler, step). A rerun with the same output
directory resumes from the latest one (Ray Train v2 restores a run by name and storage path), and
the step fixes the data position, so the next losses are the ones the killed run would have had. A
run whose workers fail (a worker or node lost, or Ray's placement-group cleaner taking a slow State
API answer for a dead controller, ray-project/ray#65447) restarts them from that checkpoint, up to
the preset's ``max_failures`` times.

Why a loop of our own and not TRL's ``SFTTrainer`` inside Ray Train: what this stage must get
exactly right is what the HF Trainer would have to be bent around. Labels come pre-masked (TRL's
``assistant_only_loss`` cannot find Qwen3's turns); packed rows must reach the model with
``position_ids``, no attention mask and no KV cache; the data is a Ray Data shard (an iterable
with no length to the HF Trainer, so its resume skips batches by replaying them); checkpoints must
go through ``ray.train.report`` in ``from_pretrained`` form with the optimizer beside them; FSDP2 is
applied per decoder layer. Each is a few lines here, and a workaround there.

    weights = train_stage(rows, "/models/Qwen3-8B", out / "general", preset, preset.stages["general"])
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import pyarrow as pa
import ray
import torch
import torch.distributed as dist
from ray.train import Checkpoint, CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig
from ray.train.torch import TorchTrainer

from agentscaler import metrics
from agentscaler.artifacts import atomic, write_json
from agentscaler.contracts import READS
from agentscaler.train.config import StageConfig, TrainPreset
from agentscaler.train.data import tokenize_rows
from agentscaler.train.packing import check_trainable, pack, packed_forward

TRAINER_STATE = "trainer_state.pt"
PACK_WINDOW = 1024  # sequences packed together: larger fills rows better, smaller streams sooner
COLUMNS = ("input_ids", "labels", "position_ids")


# ---------------------------------------------------------------- data (driver side, Ray Data)

def _tokenize_and_pack(batch: pa.Table, model_path: str, seq_len: int, seed: int) -> pa.Table:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    rows, _ = pack(list(tokenize_rows(batch.to_pylist(), tokenizer)), seq_len,
                   pad_token_id=tokenizer.pad_token_id, seed=seed)
    return pa.Table.from_pylist(rows)


def packed_dataset(rows: list[dict], model_path: Path, seq_len: int, seed: int) -> tuple[ray.data.Dataset, dict]:
    """Exported rows tokenized and packed by Ray Data, in a fixed order; and the packing figures."""
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False  # one bar per worker per epoch would drown the training log
    columns = [{key: row.get(key) for key in READS["train", "export"]} for row in rows]
    dataset = ray.data.from_items(columns).map_batches(
        _tokenize_and_pack, batch_size=PACK_WINDOW, batch_format="pyarrow",
        fn_kwargs={"model_path": str(model_path), "seq_len": seq_len, "seed": seed}).materialize()
    count = dataset.count()
    tokens = dataset.sum("tokens")
    return dataset, {"sequences": len(rows), "rows": count, "tokens": tokens,
                     "padding_waste": 1 - tokens / (count * seq_len)}


# ---------------------------------------------------------------- the loop (each Ray Train worker)

def _step_batches(config: dict, rank: int, world: int, skip: int) -> Iterator[list[dict[str, torch.Tensor]]]:
    """One epoch's optimizer steps for this worker, each a list of ``grad_accum`` micro-batches.

    Every worker reads the same ordered rows and takes its own slice of each global batch, so a
    worker's data depends only on the step: the data position a resumed run needs.
    """
    stage = StageConfig(**config["stage"])
    shard = ray.train.get_dataset_shard("train")
    batches = shard.iter_batches(batch_size=world * stage.micro_batch, batch_format="numpy", drop_last=True)
    micro: list[dict[str, torch.Tensor]] = []
    steps = 0
    for batch in batches:
        mine = slice(rank * stage.micro_batch, (rank + 1) * stage.micro_batch)
        micro.append({key: torch.as_tensor(np.stack(batch[key][mine]), dtype=torch.long) for key in COLUMNS}
                     | {"tokens": torch.as_tensor(batch["tokens"][mine])})
        if len(micro) == stage.grad_accum:
            if steps >= skip:
                yield micro
            micro, steps = [], steps + 1
            if steps == config["steps_per_epoch"]:
                return


def _load_model(path: Path, preset: TrainPreset, device: torch.device):
    """The model, wrapped for data parallelism: FSDP2 per decoder layer, or DDP through Ray."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    if preset.gradient_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    if not preset.fsdp:
        return model, ray.train.torch.prepare_model(model)
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16 if preset.bf16 else torch.float32,
                                  reduce_dtype=torch.float32)
    for layer in model.model.layers:  # one all-gather per layer; only one layer is ever whole on a GPU
        fully_shard(layer, mp_policy=policy)
    fully_shard(model, mp_policy=policy)
    return model, model


def _save(model, wrapped, optimizer, scheduler, step: int, tokenizer) -> Optional[Checkpoint]:
    """Gather the full state (a collective: every rank calls it); rank 0 writes it and returns the checkpoint."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    weights, optimizer_state = get_state_dict(
        wrapped, optimizer, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
    if ray.train.get_context().get_world_rank() != 0:
        return None
    directory = Path(tempfile.mkdtemp(prefix="agentscaler-ckpt-"))
    model.save_pretrained(directory, state_dict=weights)
    tokenizer.save_pretrained(directory)
    torch.save({"optimizer": optimizer_state, "scheduler": scheduler.state_dict(), "step": step},
               directory / TRAINER_STATE)
    return Checkpoint.from_directory(directory)


def _accumulate(wrapped, micro_batches: list[dict], device, autocast, *, sync_each: bool) -> torch.Tensor:
    """Forward and backward over one step's micro-batches; returns summed loss, aux loss, trained tokens, tokens.

    The loss is the model's own (with Qwen3-MoE's router load-balancing term when the config
    asks for router logits). DDP all-reduces gradients on the last micro-batch only.
    """
    figures = torch.zeros(4, dtype=torch.float64)
    for index, micro in enumerate(micro_batches):
        batch = {key: value.to(device) for key, value in micro.items()}
        check_trainable(batch["labels"])
        last = index == len(micro_batches) - 1
        with contextlib.nullcontext() if last or sync_each else wrapped.no_sync(), autocast:
            output = packed_forward(wrapped, batch)
            (output.loss / len(micro_batches)).backward()
        aux = getattr(output, "aux_loss", None)
        figures += torch.tensor([output.loss.item(), 0.0 if aux is None else float(aux),
                                 int((batch["labels"] != -100).sum()), int(batch["tokens"].sum())], dtype=torch.float64)
    return figures


def _metrics_log(path: Path, resumed_step: int):
    """Rank 0's per-step log; lines past the resumed step (a killed run's tail) are dropped first."""
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if json.loads(line)["step"] <= resumed_step]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in kept))
    return path.open("a")


def _record(row: dict[str, Any], stage: str) -> None:
    """One step on Ray's dashboard (rank 0, figures over all workers)."""
    metrics.TRAIN_STEPS.inc(stage=stage)
    metrics.TRAIN_TOKENS.inc(row["tokens"], stage=stage)
    metrics.TRAIN_LOSS.set(row["loss"], stage=stage)
    metrics.TRAIN_TOKENS_PER_SECOND.set(row["tokens"] / max(row["seconds"], 1e-9), stage=stage)
    metrics.TRAIN_STEP_SECONDS.observe(row["seconds"], stage=stage)


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warm-up, then cosine decay; step ``step`` (from 0) trains at this share of the peak rate.

    Not transformers' ``get_cosine_schedule_with_warmup``: it gives the first step a rate of 0, so
    that step changes nothing, and a stage of one step per epoch logged its first loss twice."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train_loop(config: dict[str, Any]) -> None:
    """Train one stage on this worker; resume from Ray Train's latest checkpoint when there is one."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict
    from transformers import AutoTokenizer

    preset, stage = TrainPreset(**config["preset"]), StageConfig(**config["stage"])
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    torch.manual_seed(preset.seed)

    checkpoint = ray.train.get_checkpoint()
    state = None
    with checkpoint.as_directory() if checkpoint else contextlib.nullcontext(config["model_path"]) as source:
        model, wrapped = _load_model(Path(source), preset, device)
        tokenizer = AutoTokenizer.from_pretrained(source)
        if checkpoint:
            state = torch.load(Path(source) / TRAINER_STATE, weights_only=False)
    on_gpu = device.type == "cuda"
    optimizer = torch.optim.AdamW(wrapped.parameters(), lr=stage.lr, weight_decay=stage.weight_decay, fused=on_gpu)
    total = config["steps_per_epoch"] * stage.epochs
    warmup = math.ceil(stage.warmup_ratio * total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(lr_factor, warmup=warmup, total=total))
    step = 0
    if state:
        set_optimizer_state_dict(wrapped, optimizer, state["optimizer"], options=StateDictOptions(full_state_dict=True))
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
    # Under FSDP2 the mixed-precision policy casts; under DDP on GPU, autocast does.
    autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if on_gpu and preset.bf16 and not preset.fsdp
                else contextlib.nullcontext())
    stop = min(total, config.get("stop_after_steps") or total)
    log = _metrics_log(Path(config["metrics_path"]), step) if rank == 0 else None
    wrapped.train()
    while step < stop:
        epoch, offset = divmod(step, config["steps_per_epoch"])
        for micro_batches in _step_batches(config, rank, world, offset):
            started = time.perf_counter()
            sums = _accumulate(wrapped, micro_batches, device, autocast, sync_each=preset.fsdp)
            torch.nn.utils.clip_grad_norm_(wrapped.parameters(), stage.max_grad_norm)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            dist.all_reduce(sums)
            row = {"step": step, "epoch": epoch, "loss": sums[0].item() / (world * len(micro_batches)),
                   "aux_loss": sums[1].item() / (world * len(micro_batches)),
                   "trained_tokens": int(sums[2].item()), "tokens": int(sums[3].item()),
                   "lr": scheduler.get_last_lr()[0], "seconds": time.perf_counter() - started}
            if log:
                log.write(json.dumps(row) + "\n")
                log.flush()
                _record(row, config["name"])
            if step % preset.checkpoint_every == 0 or step == stop:
                saved = _save(model, wrapped, optimizer, scheduler, step, tokenizer)
                ray.train.report(row, checkpoint=saved)
                if saved:
                    shutil.rmtree(saved.path, ignore_errors=True)
            if step >= stop:
                break
    if log:
        log.close()


# ---------------------------------------------------------------- the driver

HF_FILES = shutil.ignore_patterns(TRAINER_STATE)


def train_stage(rows: list[dict], model_path: Path, out: Path, preset: TrainPreset, stage: StageConfig, *,
                stop_after_steps: Optional[int] = None) -> Path:
    """Train ``model_path`` on ``rows`` with ``stage``'s hyperparameters; return ``out/weights`` (HF format).

    ``out`` holds ``metrics.jsonl`` (one line a step), ``packing.json`` and Ray Train's run
    (``out/ray``); rerunning with the same ``out`` resumes. ``stop_after_steps`` ends the run early
    (a time-boxed or preempted run) with a checkpoint to resume from; the schedule stays the full one's.
    """
    out = out.resolve()
    dataset, figures = packed_dataset(rows, model_path, stage.seq_len, preset.seed)
    steps_per_epoch = figures["rows"] // (preset.workers * stage.micro_batch * stage.grad_accum)
    if steps_per_epoch == 0:
        raise ValueError(f"{figures['rows']} packed rows make no full step of {preset.workers} workers x "
                         f"{stage.micro_batch} rows x {stage.grad_accum} micro-batches")
    write_json({**figures, "steps_per_epoch": steps_per_epoch}, out / "packing.json")
    trainer = TorchTrainer(
        train_loop,
        train_loop_config={"preset": preset.model_dump(), "stage": stage.model_dump(), "model_path": str(model_path),
                           "steps_per_epoch": steps_per_epoch, "stop_after_steps": stop_after_steps,
                           "metrics_path": str(out / "metrics.jsonl"), "name": out.name},
        scaling_config=ScalingConfig(num_workers=preset.workers, use_gpu=preset.use_gpu),
        run_config=RunConfig(name="run", storage_path=str(out / "ray"),
                             checkpoint_config=CheckpointConfig(num_to_keep=2),
                             failure_config=FailureConfig(max_failures=preset.max_failures)),
        datasets={"train": dataset},
        # Each worker reads the whole ordered set and slices it by rank (see _step_batches).
        dataset_config=DataConfig(datasets_to_split=[]),
    )
    result = trainer.fit()
    weights = out / "weights"
    with result.checkpoint.as_directory() as source, atomic(weights) as staging:
        shutil.copytree(source, staging, ignore=HF_FILES)
    return weights
