/* help.c — the usage screens of every command, and the man page built from them, so that
 * `mingpt CMD --help`, `mingpt help CMD` and `man mingpt` can never disagree.
 */
#include "help.h"

#include <string.h>

const char *const USAGE_MAIN =
    "usage: mingpt <command> [options]\n"
    "\n"
    "Trains and samples minGPT's GPT, in one C binary.\n"
    "\n"
    "commands:\n"
    "  train FILE   train a language model on a text file: characters (chargpt), or GPT-2's\n"
    "               tokens (--init DIR fine-tunes GPT-2)\n"
    "  sample       generate text from a trained model or a GPT-2 folder\n"
    "  eval FILE    mean cross-entropy of a text under a trained model or a GPT-2 folder\n"
    "  add          train a GPT to add n-digit numbers (minGPT's adder)\n"
    "  info CKPT    what a checkpoint holds: task, config, parameters, vocabulary, step, loss\n"
    "  plot CSV     draw the loss curves of a --log file as an SVG picture\n"
    "  encode       text to GPT-2 token ids (minGPT's bpe.py)\n"
    "  decode       GPT-2 token ids back to text\n"
    "\n"
    "  mingpt help <command>     options of a command, with their defaults (or <command> --help)\n"
    "  mingpt --version\n"
    "  mingpt --man              the manual page (roff), as make install installs it\n"
    "\n"
    "Options take their value as --opt VALUE or --opt=VALUE. Exit status: 0 done, 1 a runtime\n"
    "error, 2 a usage error, 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (after saving). NO_COLOR\n"
    "set: no colours.\n";

const char *const USAGE_TRAIN =
    "usage: mingpt train FILE [options]\n"
    "\n"
    "Trains a GPT on FILE. By default a character model (chargpt): the vocabulary is the sorted set\n"
    "of characters (Unicode code points) in FILE. With --init DIR it fine-tunes GPT-2 (or any\n"
    "mingpt model) on FILE with that model's tokenizer; with --tokenizer DIR it trains a new model\n"
    "on GPT-2's BPE tokens. Random windows of block_size+1 tokens from the first part of the text\n"
    "train the model; the last --val-frac is held out for validation. The checkpoint keeps its\n"
    "tokenizer: sample and eval need nothing else.\n"
    "\n"
    "model:\n"
    "  --model NAME          preset: gpt-nano, gpt-micro, gpt-mini, gopher-44m, gpt2, ... (gpt-mini)\n"
    "  --n-layer N           override the preset's layers\n"
    "  --n-head N            override the preset's heads\n"
    "  --n-embd N            override the preset's embedding size (divisible by heads)\n"
    "  --block-size N        context length in tokens (128; --init: the model's, or fewer)\n"
    "  --dropout P           embedding, attention and residual dropout (0.1)\n"
    "training:\n"
    "  --batch-size N        windows per step (64)\n"
    "  --lr X                AdamW learning rate (5e-4)\n"
    "  --max-iters N         optimizer steps in all, counting resumed ones (1000)\n"
    "  --weight-decay X      on Linear weights only (0.1)\n"
    "  --grad-clip X         max gradient L2 norm, 0 = off (1.0)\n"
    "  --warmup-iters N      linear learning-rate warmup (0)\n"
    "  --lr-decay KIND       none | cosine (to lr/10 at --max-iters) (none)\n"
    "  --val-frac X          fraction of the text held out for validation, 0 = none (0.1)\n"
    "  --eval-every N        validate, print a sample and save every N steps (250)\n"
    "  --sample-prompt TEXT  the samples' prompt (chargpt's \"O God, O God!\" if FILE has its\n"
    "                        characters, else a newline)\n"
    "  --seed N              random seed for init, batches and dropout (3407)\n"
    "  --threads N           worker threads (all cores)\n"
    "  --bytes               train on raw bytes instead of UTF-8 characters\n"
    "  --init PATH           start from this model's weights and tokenizer: a Hugging Face GPT-2\n"
    "                        folder (config.json, model.safetensors, vocab.json, merges.txt) or a\n"
    "                        mingpt checkpoint; its shape is kept, the optimizer starts fresh\n"
    "  --tokenizer DIR       a new model on GPT-2's BPE tokens: DIR holds encoder.json + vocab.bpe\n"
    "                        or vocab.json + merges.txt (data/gpt2 ships them)\n"
    "output:\n"
    "  --log-every N         progress every N steps when stderr is not a terminal (10)\n"
    "  --quiet               print only errors and the final summary\n"
    "  --log FILE            write iter,time_s,train_loss,val_loss,lr,tokens_per_s rows to a CSV\n"
    "                        file at every --log-every step and evaluation (--resume appends)\n"
    "  --plot FILE           redraw the loss curves as an SVG at every evaluation\n"
    "  --log-scale           --plot with a logarithmic loss axis\n"
    "checkpoints:\n"
    "  --out PATH            checkpoint written at every evaluation and at the end\n"
    "                        (out/chargpt/model.safetensors; with --resume, the resumed file)\n"
    "  --resume PATH         continue from a checkpoint: weights, optimizer, step and RNG state;\n"
    "                        its model shape and tokenizer are kept\n"
    "\n"
    "No output may be FILE, the resumed checkpoint (except --out), --init's model or another output.\n";

const char *const USAGE_SAMPLE =
    "usage: mingpt sample [options]\n"
    "\n"
    "Generates text from a trained model or GPT-2, streaming it to stdout.\n"
    "\n"
    "  --ckpt PATH           checkpoint (out/chargpt/model.safetensors), or a Hugging Face GPT-2\n"
    "                        folder (config.json, model.safetensors, vocab.json, merges.txt)\n"
    "  --prompt TEXT         text to continue (a newline; GPT-2: <|endoftext|>, token 50256)\n"
    "  --len N               characters (GPT-2: tokens) to generate (500)\n"
    "  --temperature T       divide the logits by T > 0 (1.0)\n"
    "  --top-k K             sample from the K most likely characters, 0 = all (10)\n"
    "  --top-p P             then from the fewest whose probability reaches P, 1 = all (1.0)\n"
    "  --greedy              always take the most likely character\n"
    "  --num-samples N       samples from the same prompt, separated by a dashed line (1)\n"
    "  --seed N              random seed (3407)\n"
    "  --exact               minGPT's generate: run the whole context (the last block_size\n"
    "                        characters) for every new character\n"
    "  --threads N           worker threads (all cores)\n"
    "\n"
    "By default a key/value cache runs one position per new character. That is exactly\n"
    "minGPT's generate while the text fits in block_size; past it, where minGPT re-reads the last\n"
    "block_size characters at new positions for every character, the cache drops the oldest half\n"
    "and rebuilds once, so the context stays between block_size/2 and block_size characters and\n"
    "every character costs the same. --exact keeps minGPT's behaviour at any length.\n";

const char *const USAGE_EVAL =
    "usage: mingpt eval FILE [options]\n"
    "\n"
    "Prints the mean cross-entropy of FILE under a model: nats and bits per character for a\n"
    "character model, nats per token and bits per byte for a BPE model or GPT-2. Windows of\n"
    "block_size+1 tokens start at 0, block_size, 2*block_size, ..., so every token after the\n"
    "first is predicted exactly once. Progress goes to stderr.\n"
    "\n"
    "  --ckpt PATH           checkpoint (out/chargpt/model.safetensors), or a Hugging Face GPT-2\n"
    "                        folder (config.json, model.safetensors, vocab.json, merges.txt)\n"
    "  --split PART          val: the last --val-frac of FILE, held out as training does; train:\n"
    "                        the rest; all: the whole file (val; a GPT-2 folder: all)\n"
    "  --val-frac X          the fraction training held out (as the checkpoint records, else 0.1)\n"
    "  --batch-size N        windows per forward pass (64)\n"
    "  --threads N           worker threads (all cores)\n";

const char *const USAGE_ADD =
    "usage: mingpt add [options]\n"
    "\n"
    "Trains a GPT to add two n-digit numbers (minGPT's adder). Every --eval-every steps it scores\n"
    "train and test problems by greedy generation, keeps the best model, and stops once every test\n"
    "problem is solved.\n"
    "\n"
    "  --ndigit N            digits per operand, 1 to 9 (2)\n"
    "  --model NAME          preset (gpt-nano); --n-layer, --n-head, --n-embd override it\n"
    "  --dropout P           dropout (0.1)\n"
    "  --batch-size N        problems per step (64)\n"
    "  --lr X                AdamW learning rate (5e-4)\n"
    "  --max-iters N         optimizer steps at most (10000)\n"
    "  --weight-decay X      (0.1)\n"
    "  --grad-clip X         (1.0)\n"
    "  --warmup-iters N      (0)\n"
    "  --lr-decay KIND       none | cosine (none)\n"
    "  --eval-every N        score train and test every N steps (500)\n"
    "  --seed N              (3407)\n"
    "  --threads N           worker threads (all cores)\n"
    "  --out PATH            best model (out/adder/model.safetensors; with --resume, that file)\n"
    "  --resume PATH         continue from a checkpoint\n"
    "  --eval                only score the model in --ckpt and exit\n"
    "  --ckpt PATH           checkpoint for --eval (out/adder/model.safetensors)\n"
    "output:\n"
    "  --log-every N         progress every N steps when stderr is not a terminal (100)\n"
    "  --quiet               print only errors and the final summary\n"
    "  --log FILE            write iter,time_s,train_loss,val_loss,lr,tokens_per_s rows to a CSV\n"
    "                        file at every --log-every step and evaluation (--resume appends)\n"
    "  --plot FILE           redraw the loss curves as an SVG at every evaluation\n"
    "  --log-scale           --plot with a logarithmic loss axis\n";

const char *const USAGE_INFO =
    "usage: mingpt info CKPT\n"
    "\n"
    "Describes a checkpoint without loading its weights: task, model config, parameter count\n"
    "(minGPT's, which leaves out lm_head, and in all), vocabulary size and its first characters, the\n"
    "step and validation loss recorded when it was saved, whether it holds optimizer state, and its\n"
    "size on disk. CKPT may be a Hugging Face GPT-2 folder: then its config, tensor names, parameter\n"
    "counts, whether lm_head is tied to wte, and which tokenizer files it holds.\n";

const char *const USAGE_PLOT =
    "usage: mingpt plot FILE.csv -o FILE.svg [options]\n"
    "\n"
    "Draws train and validation loss against the step from a CSV log written by --log, as an SVG\n"
    "picture (axes, ticks, labels, legend) that any browser shows.\n"
    "\n"
    "  -o, --out FILE        the SVG file to write (required)\n"
    "  --log-scale           logarithmic loss axis\n"
    "  --title TEXT          title above the plot (the CSV file's name)\n";

const char *const USAGE_ENCODE =
    "usage: mingpt encode --tokenizer DIR [FILE]\n"
    "\n"
    "Prints the GPT-2 token ids of FILE (standard input if none is given) as decimal numbers\n"
    "separated by single spaces, on one line, as minGPT's bpe.py encodes a text: GPT-2's\n"
    "pre-tokenising pattern, then its byte-level BPE merges. The text must be UTF-8 (bpe.py\n"
    "encodes a Python str); \"<|endoftext|>\" in it is ordinary characters.\n"
    "\n"
    "  --tokenizer DIR       the vocabulary: encoder.json + vocab.bpe (OpenAI's files, as in\n"
    "                        data/gpt2) or vocab.json + merges.txt (a Hugging Face gpt2 folder)\n";

const char *const USAGE_DECODE =
    "usage: mingpt decode --tokenizer DIR [FILE]\n"
    "\n"
    "Reads GPT-2 token ids from FILE (standard input if none is given), decimal numbers separated\n"
    "by white space, and writes the bytes they stand for, exactly: decode(encode(text)) is text.\n"
    "Nothing is written if any id is not a number or is outside the vocabulary.\n"
    "\n"
    "  --tokenizer DIR       the vocabulary, as for encode\n";

static const char *const *const COMMAND_USAGES[] = {&USAGE_TRAIN, &USAGE_SAMPLE, &USAGE_EVAL, &USAGE_ADD,
                                                    &USAGE_INFO, &USAGE_PLOT, &USAGE_ENCODE, &USAGE_DECODE};
static const char *const COMMAND_NAMES[] = {"train", "sample", "eval", "add", "info", "plot", "encode", "decode"};

const char *usage_of(const char *command) {
    for (size_t i = 0; i < sizeof COMMAND_NAMES / sizeof *COMMAND_NAMES; i++)
        if (strcmp(command, COMMAND_NAMES[i]) == 0) return *COMMAND_USAGES[i];
    return NULL;
}

/* Text as roff: backslashes escaped, hyphens made literal, a leading dot or quote defused. */
static void roff_text(FILE *out, const char *s, size_t n) {
    if (n > 0 && (s[0] == '.' || s[0] == '\'')) fputs("\\&", out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') fputs("\\e", out);
        else if (s[i] == '-') fputs("\\-", out);
        else fputc(s[i], out);
    }
}

/* One usage screen as a man page section. The screens follow one layout: a "usage:" line, prose,
 * "heading:" lines, and option lines "  --name ARG   text" whose text may continue on lines
 * indented to the text column. */
static void man_command(FILE *out, const char *usage) {
    const char *line = usage;
    int in_list = 0, new_paragraph = 0;
    while (*line) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        size_t indent = strspn(line, " ");
        if (strncmp(line, "usage: ", 7) == 0) {
            fputs(".SS \"", out);
            roff_text(out, line + 7, n - 7);
            fputs("\"\n", out);
        } else if (n == 0) {
            in_list = 0;
            new_paragraph = 1;
        } else if (indent == 2 && line[2] == '-') {
            /* "  --name ARG     text": the option part ends at the first run of 2+ spaces */
            const char *opt = line + 2, *gap = strstr(opt, "  ");
            if (!gap || gap > line + n) gap = line + n;
            fputs(".TP\n\\fB", out);
            roff_text(out, opt, (size_t)(gap - opt));
            fputs("\\fR\n", out);
            const char *text = gap + strspn(gap, " ");
            if (text < line + n) roff_text(out, text, (size_t)(line + n - text));
            fputc('\n', out);
            in_list = 1;
            new_paragraph = 0;
        } else if (indent >= 10 && in_list) {
            roff_text(out, line + indent, n - indent); /* an option's text, continued */
            fputc('\n', out);
        } else if (indent == 0 && line[n - 1] == ':') {
            fputs(".PP\n\\fB", out);
            roff_text(out, line, n - 1);
            fputs("\\fR\n", out);
            in_list = 0;
            new_paragraph = 0;
        } else {
            /* prose: a blank line before it, or the end of an option list, starts a paragraph */
            if (new_paragraph || in_list) fputs(".PP\n", out);
            else if (indent == 2) fputs(".br\n", out);
            in_list = new_paragraph = 0;
            roff_text(out, line + indent, n - indent);
            fputc('\n', out);
        }
        line = end ? end + 1 : line + n;
    }
}

void print_man(FILE *out, const char *version) {
    fprintf(out, ".TH MINGPT 1 \"\" \"mingpt %s\" \"User Commands\"\n", version);
    fputs(".SH NAME\nmingpt \\- train and sample minGPT's GPT from one C binary\n"
          ".SH SYNOPSIS\n", out);
    for (size_t i = 0; i < sizeof COMMAND_NAMES / sizeof *COMMAND_NAMES; i++) {
        const char *u = *COMMAND_USAGES[i] + 7, *nl = strchr(u, '\n');
        fputs(".br\n\\fBmingpt\\fR ", out);
        roff_text(out, u + 7, (size_t)(nl - u) - 7); /* past "mingpt " */
        fputc('\n', out);
    }
    fputs(".SH DESCRIPTION\n"
          "mingpt is a C port of minGPT: it trains a character-level language model on any UTF\\-8 text,\n"
          "samples from it, and trains a GPT to add numbers, with the model, the hand-written backward\n"
          "pass and AdamW all in one binary that needs only libc and libm. It also encodes and decodes\n"
          "text with GPT-2's byte-level BPE tokenizer.\n"
          ".SH COMMANDS\n", out);
    for (size_t i = 0; i < sizeof COMMAND_NAMES / sizeof *COMMAND_NAMES; i++) man_command(out, *COMMAND_USAGES[i]);
    fputs(".SH EXIT STATUS\n0 done, 1 a runtime error (bad input, a failed save, a NaN), 2 a usage error,\n"
          "130 interrupted by SIGINT, SIGTERM or SIGHUP after saving the checkpoint (the adder keeps its best).\n"
          ".SH ENVIRONMENT\n.TP\n\\fBNO_COLOR\\fR\nwhen set and not empty, the progress line uses no colours.\n"
          ".SH SEE ALSO\nThe README.md of the mingpt sources, and minGPT: https://github.com/karpathy/minGPT\n",
          out);
}
