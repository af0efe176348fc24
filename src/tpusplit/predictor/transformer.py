"""A Transformer over a segment's op tokens that predicts its latency (PyTorch, CPU).

Following the prediction-based partitioner of Zou et al. (MILCOM 2024: a Transformer encoder
reads the sequence of a segment's layers and regresses its latency). Here each op is a token
(:mod:`tpusplit.predictor.encoding`), embedded linearly with a learned position embedding, passed
through a small pre-norm Transformer encoder (Vaswani et al., NeurIPS 2017) and mean-pooled;
an MLP over the pooled vector and the fixed-length segment vector predicts the log ratio of
the latency to an additive prior (:class:`~tpusplit.predictor.linear.LinearPrior`, a
non-negative sum of the segment's totals). The prior carries the scale, so the network only
learns context effects (kernel efficiency, fusion, boundary I/O) and extrapolates to segments
heavier than most training ones. The loss is the squared error of ``log(latency)``.

Cost: O(L^2 d + L d^2) per segment of L ops per layer; training is O(epochs * N * that).
Needs the ``predict`` extra (``torch``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from tpusplit.errors import TpusplitError
from tpusplit.predictor.base import Predictor
from tpusplit.predictor.dataset import Dataset
from tpusplit.predictor.encoding import SEGMENT_DIM, TOKEN_DIM
from tpusplit.predictor.linear import LinearPrior

MAX_LEN = 512


class _Net(nn.Module):
    def __init__(self, d_model: int, heads: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.embed = nn.Linear(TOKEN_DIM, d_model)
        self.pos = nn.Embedding(MAX_LEN, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 2 * d_model, dropout,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.vec = nn.Linear(SEGMENT_DIM + 1, d_model)
        self.head = nn.Sequential(nn.Linear(2 * d_model, d_model), nn.GELU(),
                                  nn.Linear(d_model, 1))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor, vec: torch.Tensor
                ) -> torch.Tensor:
        """Log correction for tokens ``(B, L, D)``, padding ``mask`` ``(B, L)`` (True = pad)
        and segment vectors ``(B, F + 1)`` (the last entry is the log prior)."""
        pos = torch.arange(tokens.shape[1], device=tokens.device).clamp(max=MAX_LEN - 1)
        h = self.embed(tokens) + self.pos(pos)[None]
        h = self.norm(self.encoder(h, src_key_padding_mask=mask))
        keep = (~mask).unsqueeze(-1).float()
        pooled = (h * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        out: torch.Tensor = self.head(torch.cat([pooled, self.vec(vec)], dim=-1))
        return out.squeeze(-1)


class TransformerPredictor(Predictor):
    """Transformer encoder over op tokens correcting an additive prior, on log latency."""

    kind: ClassVar[str] = "transformer"
    uses_tokens: ClassVar[bool] = True

    def __init__(self, d_model: int = 64, heads: int = 4, layers: int = 2,
                 dropout: float = 0.0, epochs: int = 120, batch_size: int = 64,
                 lr: float = 2e-3, seed: int = 0, threads: int = 1) -> None:
        super().__init__()
        self.hparams = {"d_model": d_model, "heads": heads, "layers": layers,
                        "dropout": dropout, "epochs": epochs, "batch_size": batch_size,
                        "lr": lr, "seed": seed, "threads": threads}
        self.net: _Net | None = None
        self.tok_mean = np.zeros(TOKEN_DIM, dtype=np.float32)
        self.tok_std = np.ones(TOKEN_DIM, dtype=np.float32)
        self.vec_mean = np.zeros(SEGMENT_DIM + 1, dtype=np.float32)
        self.vec_std = np.ones(SEGMENT_DIM + 1, dtype=np.float32)
        self.prior = LinearPrior()

    def _new_net(self) -> _Net:
        h = self.hparams
        return _Net(int(h["d_model"]), int(h["heads"]), int(h["layers"]), float(h["dropout"]))

    def _batch(self, vectors: np.ndarray, tokens: Sequence[np.ndarray], rows: np.ndarray
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        length = max(tokens[i].shape[0] for i in rows)
        tok = np.zeros((len(rows), length, TOKEN_DIM), dtype=np.float32)
        mask = np.ones((len(rows), length), dtype=bool)
        for j, i in enumerate(rows):
            t = tokens[i]
            tok[j, :len(t)] = (t - self.tok_mean) / self.tok_std
            mask[j, :len(t)] = False
        v = np.hstack([vectors[rows], np.log(self.prior(vectors[rows]))[:, None]])
        vec = ((v - self.vec_mean) / self.vec_std).astype(np.float32)
        return torch.from_numpy(tok), torch.from_numpy(mask), torch.from_numpy(vec)

    def fit(self, data: Dataset, log: Any = None) -> TransformerPredictor:
        """Train on ``data`` with AdamW and a cosine learning-rate schedule.

        ``log(epoch, loss)`` is called after each epoch when given.
        """
        if len(data) < 2:
            raise TpusplitError(f"cannot train on {len(data)} segment(s)")
        h = self.hparams
        torch.manual_seed(int(h["seed"]))
        torch.set_num_threads(int(h["threads"]))
        rng = np.random.default_rng(int(h["seed"]))
        all_tok = np.concatenate(data.tokens)
        self.tok_mean = all_tok.mean(axis=0).astype(np.float32)
        self.tok_std = np.maximum(all_tok.std(axis=0), 1e-3).astype(np.float32)
        x = data.X
        labels = np.maximum(data.y, 1e-6)
        self.prior.fit(x, labels)
        est = self.prior(x)
        v = np.hstack([x, np.log(est)[:, None]])
        self.vec_mean = v.mean(axis=0).astype(np.float32)
        self.vec_std = np.maximum(v.std(axis=0), 1e-3).astype(np.float32)
        y = torch.from_numpy(np.log(labels / est).astype(np.float32))
        net = self.net = self._new_net()
        opt = torch.optim.AdamW(net.parameters(), lr=float(h["lr"]), weight_decay=1e-4)
        bs = int(h["batch_size"])
        epochs = int(h["epochs"])
        steps = epochs * math.ceil(len(data) / bs)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(h["lr"]),
                                                    total_steps=steps, pct_start=0.1)
        # batches of similar length waste less padding
        lengths = np.array([len(t) for t in data.tokens])
        for epoch in range(epochs):
            net.train()
            order = np.argsort(lengths + rng.uniform(0, 8, size=len(lengths)))
            batches = [order[i:i + bs] for i in range(0, len(order), bs)]
            rng.shuffle(batches)
            total = 0.0
            for rows in batches:
                tok, mask, vec = self._batch(x, data.tokens, rows)
                loss = nn.functional.mse_loss(net(tok, mask, vec), y[rows])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(rows)
            if log is not None:
                log(epoch + 1, total / len(data))
        self._trained_on(data)
        return self

    def _predict(self, vectors: np.ndarray, tokens: Sequence[np.ndarray]) -> np.ndarray:
        if self.net is None:
            raise TpusplitError("the predictor is not trained")
        self.net.eval()
        torch.set_num_threads(int(self.hparams["threads"]))
        out = np.zeros(len(tokens))
        order = np.argsort([len(t) for t in tokens])
        with torch.inference_mode():
            # batches of similar length: little padding (attention is quadratic in length)
            for i in range(0, len(order), 64):
                rows = order[i:i + 64]
                tok, mask, vec = self._batch(vectors, tokens, rows)
                out[rows] = np.exp(self.net(tok, mask, vec).numpy().astype(np.float64))
        return out * self.prior(vectors)

    def _state(self) -> dict[str, Any]:
        assert self.net is not None
        return {"hparams": self.hparams, "prior": (self.prior.weights, self.prior.col_scale),
                "tok_mean": self.tok_mean, "tok_std": self.tok_std,
                "vec_mean": self.vec_mean, "vec_std": self.vec_std,
                "weights": {k: v.numpy() for k, v in self.net.state_dict().items()}}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> TransformerPredictor:
        pred = cls(**state["hparams"])
        w, c = state["prior"]
        pred.prior = LinearPrior(np.asarray(w), np.asarray(c))
        for k in ("tok_mean", "tok_std", "vec_mean", "vec_std"):
            setattr(pred, k, np.asarray(state[k], dtype=np.float32))
        pred.net = pred._new_net()
        pred.net.load_state_dict({k: torch.from_numpy(np.array(v))
                                  for k, v in state["weights"].items()})
        return pred
