"""What a character model has learned: samples, next-character guesses, connectivity, bits per character.

    heldout_lines(info, n) -> list[(start, line)]                       lines of the held-out text to look at
    next_char_table(model, info, start, length, k) -> list[dict]        top-k guesses with probabilities
    text_connectivity(model, info, position) -> dict                    ‖∂ log p(next)/∂x_t‖ per earlier character
    evaluate_text(model, windows) -> dict                               bits/char, accuracy, memory accuracy per split

Every prediction reads the T characters before it from a zero state, exactly like a training window
(a shorter history is padded with zero vectors, i.e. "no character"), so what is shown is what was trained.
The sampling RNG is its own seeded `torch.Generator`: the same weights and seed give the same sample,
so the per-epoch samples differ only because the model changed.
Returned values are plain strings, floats and lists. Nothing here renders: escaping is the caller's job.
Leaves to others: the text data (`data/text_windows.py`), the samples (`nn/sampling.py`), the exact
gradients (`probe.connectivity`), charts and pages.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rnn_core.data.text_windows import TextInfo
from rnn_core.nn.losses import LN2
from rnn_core.nn.probe import connectivity
from rnn_core.nn.sampling import closer_hits, device_of, model_input, window_batch_size
from rnn_core.nn.sampling import logits as _logits
from rnn_core.nn.sampling import one_hot_window as _window
from rnn_core.nn.stateful import eval_chunk, stream_chunks

SPLITS = ("train", "val", "test")
MAX_LINE = 100          # characters of a held-out "line" shown at once


def heldout_lines(info: TextInfo, n: int = 20, min_len: int = 8, max_len: int = MAX_LINE) -> list[tuple[int, str]]:
    """Up to `n` non-blank lines of the held-out text as (start offset in it, line), in order; a line
    longer than `max_len` (the brackets grammar has no line breaks) comes in pieces of `max_len`."""
    out, pos = [], 0
    for line in info.heldout.split("\n"):
        for cut in range(0, max(1, len(line)), max_len):
            piece = line[cut:cut + max_len]
            if len(piece.strip()) >= min_len and len(out) < n:
                out.append((pos + cut, piece))
        pos += len(line) + 1
        if len(out) >= n:
            break
    if not out and info.heldout:
        out.append((0, info.heldout[:80]))
    return out


def next_char_table(model: nn.Module, info: TextInfo, start: int, length: int, k: int = 3,
                    stateful: bool = False) -> list[dict]:
    """For each position start … start+length−1 of the held-out text: the actual character, the model's
    top-k guesses with probabilities, and p(actual). Each guess reads the T characters before it
    (`stateful`: the held-out text from its start, read as one stream with the state carried)."""
    text, T = info.heldout, info.timesteps
    if stateful:
        ids = [int(i) for i in info.vocab.encode(text[:start + length])]
        positions = list(range(max(1, start), len(ids)))
        if not positions:
            return []
        z, _ = _read_stream(model, ids[:-1], keep_from=positions[0] - 1)             # (n, V): z[p−1] → p
        probs = torch.softmax(z, dim=1)
    else:
        ids = [int(i) for i in info.vocab.encode(text[max(0, start - T):start + length])]
        offset = start - max(0, start - T)
        positions = list(range(offset, min(len(ids), offset + length)))
        if not positions:
            return []
        X = np.concatenate([_window(info, ids[:p], T) for p in positions])     # (n, T, V)
        probs = torch.softmax(_logits(model, X), dim=1)                                 # (n, V)
    k = max(1, min(int(k), info.vocab.size))
    top_p, top_i = probs.topk(k, dim=1)
    rows = []
    for r, p in enumerate(positions):
        actual = ids[p]
        rows.append({"actual": info.vocab.chars[actual], "p_actual": float(probs[r, actual]),
                     "top": [(info.vocab.chars[int(i)], float(q)) for i, q in zip(top_i[r], top_p[r])]})
    return rows


def text_connectivity(model: nn.Module, info: TextInfo, position: int, stateful: bool = False) -> dict:
    """How much the prediction of held-out character `position` depends on each of the T before it.

    {"chars": the T characters read (oldest first; "" where the history is shorter), "target",
     "p_target", "grad_x": ‖∂ log₂ p(target)/∂x_t‖, "grad_h": ‖∂ log₂ p/∂h_t‖ per layer, "bits", "stateful"}.
    `stateful`: the state carried into those T characters from the held-out text's start (read as one
    stream), as a stateful run predicts; otherwise a zero state, as a window.
    """
    text, timesteps = info.heldout, info.timesteps
    position = max(1, min(int(position), len(text) - 1))
    history = text[max(0, position - timesteps):position]
    ids = [int(i) for i in info.vocab.encode(history)]
    x = _window(info, ids, timesteps)
    target = int(info.vocab.encode(text[position])[0])
    y = np.zeros((1, info.vocab.size))
    y[0, target] = 1.0
    state = None
    if stateful and position > timesteps:
        state = _read_stream(model, [int(i) for i in info.vocab.encode(text[:position - timesteps])])[1]
    c = connectivity(model, x, y, loss="bits", state=state)
    chars = [""] * (timesteps - len(history)) + list(history)
    return {"chars": chars, "target": text[position], "position": position, "bits": c["loss"],
            "p_target": 2.0 ** -c["loss"], "grad_x": c["grad_x"], "grad_h": c["grad_h"], "stateful": stateful}


@torch.no_grad()
def _read_stream(model: nn.Module, ids: list[int], keep_from: int | None = None):
    """Character ids read as one stream from a zero state, `eval_chunk` steps at a time with the state
    carried (what one call over all of them computes, without its (n, V) one-hot and (n, H) outputs at
    once): (the logits z_t (n − keep_from, V) float64 of the steps from `keep_from` on, or None; the state
    after the last step)."""
    k = eval_chunk(model, 1)
    kept, state = [], None
    for s in range(0, len(ids), k):
        x = torch.as_tensor(ids[s:s + k], dtype=torch.long, device=device_of(model))[None]   # (1, k)
        z, state = model.forward_steps(x, state)                                    # (1, k, V)
        if keep_from is not None and s + k > keep_from:
            kept.append(z[0, max(0, keep_from - s):].double().cpu())
    return (torch.cat(kept) if kept else None), state


# ----------------------------------------------------------------------------- evaluation
def _window_batches(model: nn.Module, X: np.ndarray, y: np.ndarray, info: TextInfo, batch: int = 512):
    """(logits (b, V), one-hot targets (b, V)) of the windows, batch by batch (`sampling.window_batch_size`)."""
    if len(X) == 0:
        return
    batch = window_batch_size(X, info.vocab.size, batch)
    for s in range(0, len(X), batch):
        yield _logits(model, model_input(X[s:s + batch])), torch.from_numpy(np.asarray(y[s:s + batch]))


def _scores(batches, info: TextInfo) -> dict:
    """bits/char, top-1 accuracy and, for a grammar with known memory, the memory accuracy, over
    (logits, one-hot targets) batches."""
    nll, hits, mem_hits, mem_n, n = 0.0, 0, 0, 0, 0
    for logits, y in batches:
        logits = logits.double().cpu()                                              # (b, V)
        target = y.argmax(dim=1).cpu()                                              # (b,)
        # −log₂ p(target)
        nll += float(torch.nn.functional.cross_entropy(logits, target, reduction="sum")) / LN2
        hits += int((logits.argmax(dim=1) == target).sum())
        n += len(target)
        h, k = closer_hits(logits, target, info)          # brackets: the matching closer the likeliest?
        mem_hits, mem_n = mem_hits + h, mem_n + k
    if n == 0:
        return {"bits": None, "accuracy": None, "memory_accuracy": None, "n": 0}
    return {"bits": nll / n, "accuracy": hits / n, "memory_accuracy": mem_hits / mem_n if mem_n else None,
            "n": n}


STREAM_READING = ("Stateful: the text is read as one stream, not as windows of T characters from a zero state: "
                  "the training part from its first character, each held-out part continuing the last "
                  "training stream (from where that stream starts; with one stream, the first character), "
                  "every character predicted from the state carried so far.")


def evaluate_text(model: nn.Module, windows, streams=None) -> dict:
    """{"task": "text", "target", "baseline": "unigram", "unigram_bits", "span", and per split
    {"metrics": {"model": {"bits", "accuracy", "memory_accuracy", "n"}, "unigram": {"bits": H}}}}.
    memory_accuracy (brackets): at each closer, whether the matching closer is the likeliest of the
    closers: 1/3 without memory of the opener, 1 with it.
    With `streams` (a stateful run's `streams.Streams`) every character of each part is scored, read as
    one stream with the state carried, and "reading" says so; otherwise each window from a zero state."""
    info: TextInfo = windows.text
    out = {"task": "text", "target": windows.target_name, "baseline": "unigram",
           "unigram_bits": info.unigram_bits, "span": info.memory.get("span")}
    if streams is not None:
        out["reading"] = STREAM_READING
    for split in SPLITS:
        if streams is not None:
            batches = stream_chunks(model, streams.part(split))
        else:
            batches = _window_batches(model, getattr(windows, f"X_{split}"), getattr(windows, f"y_{split}"), info)
        out[split] = {"metrics": {"model": _scores(batches, info), "unigram": {"bits": info.unigram_bits}}}
    return out
