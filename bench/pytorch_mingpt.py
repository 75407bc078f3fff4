#!/usr/bin/env python3
"""The PyTorch side of mingpt's speed comparison: minGPT's GPT (the same module structure as
tests/reference/make_fixture.py) trained with minGPT's AdamW groups and gradient clipping on the
shapes of `make bench`. Prints the median ms per training step and tokens/s.

    /usr/bin/python3 bench/pytorch_mingpt.py [threads] [train|generate] [characters (2000)]

Needs Debian's python3-torch. Debian's torch calls the system BLAS, which is the unoptimised
reference BLAS until OpenBLAS is installed (apt-get install libopenblas0-pthread): compare against
that, or PyTorch runs about 13x slower than it can. Not part of the build or the tests.
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from make_fixture import GPT  # noqa: E402


def bench(name, n_layer, n_head, n_embd, vocab, block, batch, steps):
    torch.manual_seed(0)
    model = GPT(n_layer, n_head, n_embd, vocab, block, pdrop=0.1)
    model.train()
    opt = model.configure_optimizers(5e-4, 0.1, (0.9, 0.95))
    x = torch.randint(0, vocab, (batch, block))
    y = torch.randint(0, vocab, (batch, block))
    times = []
    for step in range(steps + 3):
        t = time.perf_counter()
        _, loss = model(x, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step >= 3:
            times.append(time.perf_counter() - t)
    times.sort()
    ms = 1e3 * times[len(times) // 2]
    print("PyTorch %s: %d threads, %.2f ms/iter, %.0f tokens/s" % (name, torch.get_num_threads(), ms,
                                                                     batch * block / ms * 1e3))


@torch.no_grad()
def bench_generate(n_new):
    """minGPT's generate(): crop to block_size, a full forward, top-k 10, multinomial."""
    torch.manual_seed(0)
    model = GPT(6, 6, 192, 65, 128, pdrop=0.1)
    model.eval()
    idx = torch.zeros((1, 1), dtype=torch.long)
    t = time.perf_counter()
    for _ in range(n_new):
        idx_cond = idx if idx.size(1) <= 128 else idx[:, -128:]
        logits, _ = model(idx_cond)
        logits = logits[:, -1, :]
        v, _ = torch.topk(logits, 10)
        logits[logits < v[:, [-1]]] = -float("inf")
        probs = torch.softmax(logits, dim=-1)
        idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
    dt = time.perf_counter() - t
    print("PyTorch generate, gpt-mini: %d threads, %.0f characters/s over %d" % (torch.get_num_threads(), n_new / dt, n_new))


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count())
    only = sys.argv[2] if len(sys.argv) > 2 else None  # "train" or "generate"
    if only != "generate":
        bench("gpt-mini (chargpt)", 6, 6, 192, 65, 128, 64, 5)
        bench("gpt-nano (adder, ndigit 2)", 3, 3, 48, 10, 6, 64, 100)
    if only != "train":
        bench_generate(int(sys.argv[3]) if len(sys.argv) > 3 else 2000)
