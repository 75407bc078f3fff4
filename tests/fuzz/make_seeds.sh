#!/bin/sh
# Remakes the fuzzers' seed corpora in tests/fuzz/seeds (committed; run from the repository root
# after `make`). The checkpoints are the smallest mingpt can write (n_embd 4), one per kind the
# reader knows: characters with optimizer state, raw bytes, the adder, and weights only (as PyTorch
# would write them); the texts cover ASCII, multi-byte UTF-8, --bytes mode and broken sequences.
set -eu
S=tests/fuzz/seeds
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p $S/checkpoint $S/utf8
small="--n-layer 1 --n-head 1 --n-embd 4 --batch-size 2"
printf 'abcabcabdabcabcabdaabbccdd\nabcd abcd\n' >"$T/t.txt"
./mingpt train "$T/t.txt" $small --block-size 4 --max-iters 2 --eval-every 2 --val-frac 0.2 \
    --out $S/checkpoint/chars.safetensors 2>/dev/null
printf 'ab\000\377\001ab\000\377\001ab\000\377' >"$T/b.bin"
./mingpt train "$T/b.bin" --bytes $small --n-head 2 --block-size 3 --max-iters 1 --eval-every 1 --val-frac 0 \
    --out $S/checkpoint/bytes.safetensors 2>/dev/null
./mingpt add --ndigit 1 $small --batch-size 8 --max-iters 100 --eval-every 100 --out $S/checkpoint/add.safetensors >/dev/null 2>&1
# weights only: the chars checkpoint without optimizer tensors and resume metadata
python3 - $S/checkpoint/chars.safetensors $S/checkpoint/weights_only.safetensors <<'PY'
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
head, data = json.loads(raw[8:8 + n]), raw[8 + n:]
meta = {k: v for k, v in head.pop('__metadata__').items() if k not in ('step', 'data_rng', 'dropout_seed', 'dropout_pass')}
out, blob = {'__metadata__': meta}, b''
for name, t in head.items():
    if name.startswith('optimizer.'):
        continue
    b, e = t['data_offsets']
    out[name] = dict(t, data_offsets=[len(blob), len(blob) + e - b])
    blob += data[b:e]
h = json.dumps(out, separators=(',', ':')).encode()
h += b' ' * (-len(h) % 8)
open(sys.argv[2], 'wb').write(struct.pack('<Q', len(h)) + h + blob)
PY
printf 'hello world\n' >$S/utf8/ascii.txt
printf 'caf\303\251 na\303\257ve \344\270\255\346\226\207 \360\237\230\200\n' >$S/utf8/multibyte.txt
printf '\377bytes mode: \000\001\200\376\377' >$S/utf8/bytes_mode.bin
printf 'ok \300\257 \355\240\200 \364\220\200\200 \342\202' >$S/utf8/invalid.txt
