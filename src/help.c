/* help.c — `mingpt --help`, the usage screens of the general tools, and the man page built from
 * every command's screen, so that `mingpt CMD --help`, `mingpt help CMD` and `man mingpt` can never
 * disagree. The tasks' screens live in their files (task_table.h).
 */
#include "help.h"

#include <string.h>

static const char USAGE_MAIN_HEAD[] =
    "usage: mingpt <command> [options]\n"
    "\n"
    "Trains and samples minGPT's GPT, in one C binary.\n"
    "\n"
    "commands:\n";

static const char USAGE_MAIN_TAIL[] =
    "\n"
    "  mingpt help <command>     options of a command, with their defaults (or <command> --help)\n"
    "  mingpt --version\n"
    "  mingpt --man              the manual page (roff), as make install installs it\n"
    "\n"
    "Options take their value as --opt VALUE or --opt=VALUE. Exit status: 0 done, 1 a runtime\n"
    "error, 2 a usage error, 130 interrupted by Ctrl-C, SIGTERM or SIGHUP (after saving). NO_COLOR\n"
    "set: no colours.\n";

void print_usage_main(FILE *out, const Command *const *commands, int n) {
    fputs(USAGE_MAIN_HEAD, out);
    for (int i = 0; i < n; i++) fputs(commands[i]->summary, out);
    fputs(USAGE_MAIN_TAIL, out);
}

const char USAGE_INFO[] =
    "usage: mingpt info CKPT\n"
    "\n"
    "Describes a checkpoint without loading its weights: task, model config, parameter count\n"
    "(minGPT's, which leaves out lm_head, and in all), vocabulary size and its first characters, the\n"
    "step and validation loss recorded when it was saved, whether it holds optimizer state, and its\n"
    "size on disk. CKPT may be a Hugging Face GPT-2 folder: then its config, tensor names, parameter\n"
    "counts, whether lm_head is tied to wte, and which tokenizer files it holds.\n";

const char USAGE_PLOT[] =
    "usage: mingpt plot FILE.csv -o FILE.svg [options]\n"
    "\n"
    "Draws train and validation loss against the step from a CSV log written by --log, as an SVG\n"
    "picture (axes, ticks, labels, legend) that any browser shows.\n"
    "\n"
    "  -o, --out FILE        the SVG file to write (required)\n"
    "  --log-scale           logarithmic loss axis\n"
    "  --title TEXT          title above the plot (the CSV file's name)\n";

const char USAGE_ENCODE[] =
    "usage: mingpt encode --tokenizer DIR [FILE]\n"
    "\n"
    "Prints the GPT-2 token ids of FILE (standard input if none is given) as decimal numbers\n"
    "separated by single spaces, on one line, as minGPT's bpe.py encodes a text: GPT-2's\n"
    "pre-tokenising pattern, then its byte-level BPE merges. The text must be UTF-8 (bpe.py\n"
    "encodes a Python str); \"<|endoftext|>\" in it is ordinary characters.\n"
    "\n"
    "  --tokenizer DIR       the vocabulary: encoder.json + vocab.bpe (OpenAI's files, as in\n"
    "                        data/gpt2) or vocab.json + merges.txt (a Hugging Face gpt2 folder)\n";

const char USAGE_DECODE[] =
    "usage: mingpt decode --tokenizer DIR [FILE]\n"
    "\n"
    "Reads GPT-2 token ids from FILE (standard input if none is given), decimal numbers separated\n"
    "by white space, and writes the bytes they stand for, exactly: decode(encode(text)) is text.\n"
    "Nothing is written if any id is not a number or is outside the vocabulary.\n"
    "\n"
    "  --tokenizer DIR       the vocabulary, as for encode\n";

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

void print_man(FILE *out, const char *version, const Command *const *commands, int n) {
    fprintf(out, ".TH MINGPT 1 \"\" \"mingpt %s\" \"User Commands\"\n", version);
    fputs(".SH NAME\nmingpt \\- train and sample minGPT's GPT from one C binary\n"
          ".SH SYNOPSIS\n", out);
    for (int i = 0; i < n; i++) {
        const char *u = commands[i]->usage + 7, *nl = strchr(u, '\n');
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
    for (int i = 0; i < n; i++) man_command(out, commands[i]->usage);
    fputs(".SH EXIT STATUS\n0 done, 1 a runtime error (bad input, a failed save, a NaN), 2 a usage error,\n"
          "130 interrupted by SIGINT, SIGTERM or SIGHUP after saving the checkpoint (the adder keeps its best).\n"
          ".SH ENVIRONMENT\n.TP\n\\fBNO_COLOR\\fR\nwhen set and not empty, the progress line uses no colours.\n"
          ".SH SEE ALSO\nThe README.md of the mingpt sources, and minGPT: https://github.com/karpathy/minGPT\n",
          out);
}
