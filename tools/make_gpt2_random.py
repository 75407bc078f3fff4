#!/usr/bin/env python3
"""Writes DIR as a Hugging Face GPT-2 124M folder with random weights: config.json, model.safetensors
(OpenAI's tensor names and Conv1D layout, F32, lm_head tied to wte) and the tokenizer files copied
from data/gpt2 (or the folder given as a second argument). For measuring speed and memory at GPT-2's
size without downloading it (docs/gpt2.md); Python's standard library only, about 500 MB written.

    python3 tools/make_gpt2_random.py DIR [TOKENIZER_DIR]
"""
import json
import os
import random
import shutil
import struct
import sys
from array import array

L, C, V, P = 12, 768, 50257, 1024  # gpt2: layers, n_embd, vocabulary, positions


def main():
    out = sys.argv[1]
    vocab_dir = sys.argv[2] if len(sys.argv) > 2 else "data/gpt2"
    random.seed(1)
    # one million normal(0, 0.02) floats, repeated: the values do not matter, only that they are finite
    block = array("f", [random.gauss(0.0, 0.02) for _ in range(1 << 20)]).tobytes()
    tensors = [("wte.weight", [V, C], None), ("wpe.weight", [P, C], None)]
    for l in range(L):
        h = "h.%d." % l
        tensors += [(h + "ln_1.weight", [C], 1.0), (h + "ln_1.bias", [C], 0.0),
                    (h + "attn.c_attn.weight", [C, 3 * C], None), (h + "attn.c_attn.bias", [3 * C], 0.0),
                    (h + "attn.c_proj.weight", [C, C], None), (h + "attn.c_proj.bias", [C], 0.0),
                    (h + "ln_2.weight", [C], 1.0), (h + "ln_2.bias", [C], 0.0),
                    (h + "mlp.c_fc.weight", [C, 4 * C], None), (h + "mlp.c_fc.bias", [4 * C], 0.0),
                    (h + "mlp.c_proj.weight", [4 * C, C], None), (h + "mlp.c_proj.bias", [C], 0.0)]
    tensors += [("ln_f.weight", [C], 1.0), ("ln_f.bias", [C], 0.0)]
    header, offset = {}, 0
    for name, shape, _ in tensors:
        n = 4 * shape[0] * (shape[1] if len(shape) > 1 else 1)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for name, _, fill in tensors:
            begin, end = header[name]["data_offsets"]
            if fill is not None:  # LayerNorm weights 1, biases 0
                f.write(array("f", [fill]).tobytes() * ((end - begin) // 4))
                continue
            for at in range(begin, end, len(block)):
                f.write(block[: min(len(block), end - at)])
    config = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
              "bos_token_id": V - 1, "embd_pdrop": 0.1, "eos_token_id": V - 1, "initializer_range": 0.02,
              "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": P, "n_embd": C, "n_head": 12,
              "n_layer": L, "n_positions": P, "resid_pdrop": 0.1, "vocab_size": V}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    for name in ("encoder.json", "vocab.bpe"):
        shutil.copy(os.path.join(vocab_dir, name), out)


if __name__ == "__main__":
    main()
