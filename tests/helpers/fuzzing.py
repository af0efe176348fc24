"""Fuzzing the model reader: seeded mutators on real models, and a runner that isolates each try.

Mutators (all seeded, reproducible from ``(seed, index)``):

* **bytes** on the file: bit flips, 32-bit words overwritten with edge values (0, -1, 2^31,
  small counts: they hit offsets, vtable entries and vector lengths), truncation, a chunk
  duplicated or zeroed;
* **structure** on the parsed model (``ModelT``): the faults a broken converter or a
  hand-edited file makes: non-UTF-8 names and custom codes, missing op inputs, absent
  outputs (-1), pooling ops without options, negative or huge dimensions, indices out of
  range (metadata, intermediates, tensors, operator codes, buffers), a tensor written twice,
  an op writing a model input, emptied weight buffers, ops out of order.

:func:`run_one` runs one command on one input in a forked child under a memory cap and a
timeout, and classifies the outcome: ``ok`` (loaded and processed), ``clean`` (a one-line
tpusplit error naming the file), ``traceback`` (any other exception: its type and the
innermost tpusplit frame), ``crash`` (a signal, or out of memory) or ``hang``.

Run as a program (``python tests/helpers/fuzzing.py --inputs N --seed S``), it fuzzes N
inputs with every command and prints one JSON line per run, then a summary line; the test
suite and ``benchmarks/fuzz/run.py`` drive it so.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import select
import signal
import struct
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

COMMANDS = ("load", "inspect", "split", "simulate")
EDGE_WORDS = (0, 1, 2, 3, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFF, 64, 1000, 0x10000)


def seeds() -> list[tuple[str, bytes]]:
    """The models mutated: Coral's small graphs in the data folder and built models."""
    from tpusplit.files import data_dir
    from tpusplit.models.random_net import random_net
    from tpusplit.models.slim import ssd_mobilenet_v1
    from tpusplit.models.synthetic import conv, fc

    out = [("conv8", conv(8, size=8)), ("conv16x3", conv(16, layers=3, size=16)),
           ("fc64", fc(64)), ("random0", random_net(0)), ("random5", random_net(5)),
           # a host-side custom op (TFLite_Detection_PostProcess) and its custom options
           ("ssd_pp", ssd_mobilenet_v1(size=64, multiplier=0.25, classes=4,
                                       postprocess=True))]
    for p in sorted((data_dir() / "coral-reference" / "models").glob("*.tflite")):
        if p.stat().st_size < 1_000_000:
            out.append((p.stem, p.read_bytes()))
    return out


# ------------------------------------------------------------------------------ mutators
def mutate_bytes(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One byte-level mutation of ``data``."""
    b = bytearray(data)
    kind = rng.choice(["flip", "word", "word", "truncate", "dup", "zero"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == "word":
        head = rng.random() < 0.3  # the root offset, vtables and early tables
        i = rng.randrange(0, min(len(b) - 4, 512) if head else len(b) - 4) & ~3
        b[i:i + 4] = struct.pack("<I", rng.choice(EDGE_WORDS))
    elif kind == "truncate":
        b = b[:rng.randrange(8, len(b))]
    elif kind == "dup":
        i = rng.randrange(len(b))
        n = rng.randint(1, 64)
        b[i:i] = b[i:i + n]
    else:
        i = rng.randrange(len(b))
        b[i:i + rng.randint(1, 64)] = bytes(min(64, len(b) - i))
    return bytes(b), f"bytes:{kind}"


def _structure_mutators() -> dict[str, Callable[..., None]]:
    from ai_edge_litert import schema_py_generated as schema

    def ops(m): return m.subgraphs[0].operators  # type: ignore[no-untyped-def]
    def tensors(m): return m.subgraphs[0].tensors  # type: ignore[no-untyped-def]

    def bad_name(m, r):  # type: ignore[no-untyped-def]
        r.choice(tensors(m)).name = b"\xff\xfe\xc3("

    def bad_custom(m, r):  # type: ignore[no-untyped-def]
        r.choice(m.operatorCodes).customCode = b"\xc3\x28"

    def drop_inputs(m, r):  # type: ignore[no-untyped-def]
        op = r.choice(ops(m))
        op.inputs = list(op.inputs)[:r.randint(0, 1)] if op.inputs is not None else []

    def absent_output(m, r):  # type: ignore[no-untyped-def]
        r.choice(ops(m)).outputs = [-1]

    def no_options(m, r):  # type: ignore[no-untyped-def]
        op = r.choice(ops(m))
        op.builtinOptions, op.builtinOptionsType = None, 0

    def bad_dim(m, r):  # type: ignore[no-untyped-def]
        t = r.choice(tensors(m))
        rest = list(t.shape if t.shape is not None else [])[1:]
        t.shape = [r.choice([-1, -7, 2**31, 2**20]), *rest]

    def huge_shape(m, r):  # type: ignore[no-untyped-def]
        r.choice(tensors(m)).shape = [2**31 - 1, 2**31 - 1]

    def bad_metadata(m, r):  # type: ignore[no-untyped-def]
        md = schema.MetadataT()
        md.name, md.buffer = b"x", 10**6
        m.metadata = [*(m.metadata or []), md]

    def bad_intermediate(m, r):  # type: ignore[no-untyped-def]
        r.choice(ops(m)).intermediates = [r.choice([10**6, -5])]

    def bad_tensor_index(m, r):  # type: ignore[no-untyped-def]
        op = r.choice(ops(m))
        op.inputs = [*(op.inputs if op.inputs is not None else []), 10**6]

    def bad_opcode(m, r):  # type: ignore[no-untyped-def]
        r.choice(ops(m)).opcodeIndex = 10**6

    def bad_buffer(m, r):  # type: ignore[no-untyped-def]
        r.choice(tensors(m)).buffer = 10**6

    def written_twice(m, r):  # type: ignore[no-untyped-def]
        a, b = r.sample(ops(m), 2) if len(ops(m)) > 1 else (ops(m)[0], ops(m)[0])
        b.outputs = list(a.outputs)

    def writes_input(m, r):  # type: ignore[no-untyped-def]
        r.choice(ops(m)).outputs = [m.subgraphs[0].inputs[0]]

    def empty_buffer(m, r):  # type: ignore[no-untyped-def]
        full = [b for b in m.buffers if b.data is not None and len(b.data)]
        if full:
            r.choice(full).data = None

    def reorder(m, r):  # type: ignore[no-untyped-def]
        r.shuffle(m.subgraphs[0].operators)

    def drop_outputs(m, r):  # type: ignore[no-untyped-def]
        m.subgraphs[0].outputs = [r.choice([10**6, -1, 0])]

    def no_subgraph(m, r):  # type: ignore[no-untyped-def]
        m.subgraphs = [] if r.random() < 0.5 else [m.subgraphs[0], m.subgraphs[0]]

    return {f.__name__: f for f in (
        bad_name, bad_custom, drop_inputs, absent_output, no_options, bad_dim, huge_shape,
        bad_metadata, bad_intermediate, bad_tensor_index, bad_opcode, bad_buffer,
        written_twice, writes_input, empty_buffer, reorder, drop_outputs, no_subgraph)}


def mutate_structure(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One structural mutation of ``data`` (parsed, changed, written back)."""
    from ai_edge_litert import schema_py_generated as schema

    from tpusplit.graph.tflite import serialize

    mutators = _structure_mutators()
    name = rng.choice(sorted(mutators))
    try:  # unchecked: the input may be broken already
        model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
        mutators[name](model, rng)
        return serialize(model), f"structure:{name}"
    except Exception:  # unreadable, or the writer refuses it (a negative vector length...)
        return mutate_bytes(data, rng)


def make_input(index: int, seed: int, models: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """Input ``index`` of the run seeded ``seed``: a seed model with one to three mutations."""
    rng = random.Random(seed * 1_000_003 + index)
    name, data = models[rng.randrange(len(models))]
    kinds = []
    for _ in range(rng.choice([1, 1, 2, 3])):
        data, kind = (mutate_structure(data, rng) if rng.random() < 0.5
                      else mutate_bytes(data, rng))
        kinds.append(kind)
    return data, f"{name}+{'+'.join(kinds)}"


# ------------------------------------------------------------------------------ commands
def command(name: str, path: Path) -> None:
    """Run entry point ``name`` of tpusplit on the model file ``path``."""
    import tpusplit

    graph = tpusplit.load(path)
    if name == "inspect":
        from tpusplit.report.graph import graph_dict, graph_summary

        graph_dict(graph)
        graph_summary(graph)
    elif name == "split":
        from tpusplit.graph.coral import split_coral

        cuts = [len(graph.ops) // 2] if len(graph.ops) > 1 else []
        tpusplit.split(graph, cuts)
        split_coral(graph, cuts)
    elif name == "simulate":
        cuts = [len(graph.ops) // 2] if len(graph.ops) > 1 else []
        tpusplit.simulate(graph, cuts, device="edgetpu-usb3")


@dataclass
class Outcome:
    """What one run did."""

    kind: str  # ok, clean, traceback, crash, hang
    detail: str = ""
    seconds: float = 0.0


def run_one(name: str, path: Path, timeout: float = 20.0, memory: int = 1 << 30,
            target: Callable[[str, Path], None] = command) -> Outcome:
    """Run ``target(name, path)`` in a forked child (``memory`` bytes more than now at most,
    ``timeout`` seconds) and classify it (module docstring)."""
    import warnings

    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(r)
        code, detail = 0, "ok"
        import faulthandler

        faulthandler.disable()
        try:
            soft = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + memory
            resource.setrlimit(resource.RLIMIT_AS, (soft, soft))
            warnings.simplefilter("ignore")
            from tpusplit.errors import TpusplitError

            try:
                target(name, path)
            except TpusplitError as exc:
                text = str(exc)
                one_line = "\n" not in text.strip()
                code, detail = (1, text) if one_line and str(path) in text else (
                    3, f"unclear error: {text[:200]}")
            except MemoryError:
                code, detail = 4, "MemoryError"
            except BaseException as exc:
                frames = [f for f in traceback.extract_tb(exc.__traceback__)
                          if "tpusplit" in f.filename]
                where = (f"{Path(frames[-1].filename).name}:{frames[-1].name}" if frames
                         else "?")
                code, detail = 3, f"{type(exc).__name__} in {where}: {str(exc)[:160]}"
        except BaseException:
            code, detail = 3, "child setup failed"
        os.write(w, detail.encode(errors="replace")[:4000])
        os._exit(code)
    os.close(w)
    chunks: list[bytes] = []
    deadline = t0 + timeout
    status = None
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(r)
            return Outcome("hang", f"more than {timeout:g} s", time.perf_counter() - t0)
        ready, _, _ = select.select([r], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(r, 4096)
            if chunk:
                chunks.append(chunk)
                continue
            _, status = os.waitpid(pid, 0)
            break
    os.close(r)
    seconds = time.perf_counter() - t0
    detail = b"".join(chunks).decode(errors="replace")
    if os.WIFSIGNALED(status):
        return Outcome("crash", f"signal {os.WTERMSIG(status)}", seconds)
    code = os.WEXITSTATUS(status)
    kind = {0: "ok", 1: "clean", 3: "traceback", 4: "crash"}.get(code, "crash")
    return Outcome(kind, detail, seconds)


def main(argv: list[str] | None = None) -> None:
    """Fuzz ``--inputs`` inputs with every command; one JSON line per run, then a summary."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--only", default="", help="input indices, comma-separated")
    ap.add_argument("--save", type=Path, help="write the inputs that were not clean here")
    ap.add_argument("--timeout", type=float, default=20.0)
    args = ap.parse_args(argv)
    import tempfile

    models = seeds()
    todo = ([int(i) for i in args.only.split(",")] if args.only else range(args.inputs))
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in todo:
            data, how = make_input(i, args.seed, models)
            path = Path(tmp) / f"fuzz_{args.seed}_{i}.tflite"
            path.write_bytes(data)
            for name in COMMANDS:
                out = run_one(name, path, timeout=args.timeout)
                counts[out.kind] = counts.get(out.kind, 0) + 1
                print(json.dumps({"input": i, "mutation": how, "command": name,
                                  "outcome": out.kind, "detail": out.detail[:300],
                                  "seconds": round(out.seconds, 3)}), flush=True)
                if args.save and out.kind not in ("ok", "clean"):
                    args.save.mkdir(parents=True, exist_ok=True)
                    (args.save / path.name).write_bytes(data)
    print(json.dumps({"summary": counts, "inputs": len(list(todo)), "seed": args.seed}),
          flush=True)


if __name__ == "__main__":

    main()
