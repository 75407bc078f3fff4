/* main.c — the mingpt command: parses argv and dispatches to a task. It holds no math. */
#include <stdio.h>
#include <string.h>

#include "model.h"

#define MINGPT_VERSION "0.1.0"

static void usage(FILE *out) {
    fprintf(out,
            "usage: mingpt <command> [options]\n"
            "\n"
            "mingpt trains and samples minGPT's GPT in one C binary.\n"
            "  --version   print the version\n"
            "  --help      print this help\n"
            "Model presets: %s\n",
            gpt_preset_names());
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("mingpt %s\n", MINGPT_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
