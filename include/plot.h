/* plot.h — train and validation loss against the step, drawn as a self-contained SVG file: axes
 * with rounded ticks, light grid lines, labels, a legend and a title. No scripts, no fonts to load,
 * so any browser or image viewer shows it.
 */
#ifndef MINGPT_PLOT_H
#define MINGPT_PLOT_H

#include <stddef.h>

#include "runlog.h"

/* Writes the plot of log's train_loss and val_loss (rows where they are finite) to path,
 * atomically (a temporary file renamed over it, so a browser never reads half a picture).
 * log_scale draws the loss axis logarithmically. Returns 0, or -1 with a message in err. */
int plot_svg(const char *path, const RunLog *log, const char *title, int log_scale, char *err,
             size_t err_size);

#endif
