#!/bin/sh
# valgrind's memcheck on one short run of each command (train and resume with --log and --plot,
# info, plot, sample, eval, add, and refused inputs): any invalid read or write, use of
# uninitialised memory, or leaked byte fails.
# Usage: sh tests/memcheck.sh BINARY (make memcheck builds it and calls this).
set -u
bin=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
i=0
while [ $i -lt 300 ]; do printf 'the cat sat on the mat. a dog ate the hat!\n'; i=$((i + 1)); done >"$T/t.txt"
small="--model gpt-nano --block-size 16 --batch-size 4 --log-every 5 --threads 2"
failed=0
check() {
    want=$1
    shift
    valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
        "$bin" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ $rc -ne "$want" ]; then
        echo "FAIL memcheck: mingpt $* (exit $rc, want $want)"
        cat "$T/err"
        failed=1
    else
        echo "ok   memcheck: mingpt $*"
    fi
}
check 0 train "$T/t.txt" $small --max-iters 6 --eval-every 3 --out "$T/ck.safetensors" --log "$T/run.csv" \
    --plot "$T/run.svg"
check 0 train "$T/t.txt" $small --max-iters 8 --eval-every 4 --resume "$T/ck.safetensors" --out "$T/ck.safetensors" \
    --log "$T/run.csv" --plot "$T/run.svg" --log-scale
check 0 info "$T/ck.safetensors"
check 0 plot "$T/run.csv" -o "$T/again.svg"
check 0 sample --ckpt "$T/ck.safetensors" --len 40 --num-samples 2 --threads 2
check 0 sample --ckpt "$T/ck.safetensors" --len 20 --exact --top-p 0.9 --threads 2
check 0 eval --ckpt "$T/ck.safetensors" "$T/t.txt"
check 0 add --ndigit 1 --batch-size 8 --max-iters 4 --eval-every 2 --threads 2 --out "$T/add.safetensors"
check 1 train "$T/missing.txt"
check 1 sample --ckpt "$T/t.txt"
[ $failed -eq 0 ] && echo "memcheck: no errors, no leaks"
exit $failed
