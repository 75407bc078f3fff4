#!/usr/bin/env python3
"""The PyTorch side of mingpt's speed comparison: minGPT's GPT (the same module structure as
tests/reference/make_fixture.py) trained with minGPT's AdamW groups and gradient clipping on the
shapes of `make bench`. Prints the median ms per training step and tokens/s.

    /usr/bin/python3 bench/pytorch_mingpt.py [threads]

Needs Debian's python3-torch. Not part of the build or the tests.
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


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count())
    bench("gpt-mini (chargpt)", 6, 6, 192, 65, 128, 64, 5)
    bench("gpt-nano (adder, ndigit 2)", 3, 3, 48, 10, 6, 64, 100)
