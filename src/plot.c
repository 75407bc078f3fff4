/* plot.c — the loss curves as SVG (see plot.h). Coordinates are computed here; the SVG is plain
 * text written with fprintf. */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "files.h"
#include "utf8.h"

/* the canvas and the plotting area inside it, in SVG user units (pixels) */
#define W 760.0
#define H 460.0
#define LEFT 78.0
#define RIGHT 24.0
#define TOP 48.0
#define BOTTOM 62.0
#define MAX_TICKS 12

static const char *TRAIN_COLOR = "#1f77b4", *VAL_COLOR = "#e8590c";

typedef struct {
    double lo, hi;  /* data range shown (in log10 when log) */
    int log;
    double ticks[MAX_TICKS];
    int n_ticks;
} Axis;

/* A round step near span/target: 1, 2 or 5 times a power of ten. */
static double nice_step(double span, int target) {
    double raw = span / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

/* Linear axis over [lo, hi], widened to whole steps, with its ticks. */
static void axis_linear(Axis *a, double lo, double hi, int target) {
    if (!(hi > lo)) {
        double pad = lo != 0.0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    double step = nice_step(hi - lo, target);
    a->log = 0;
    a->lo = floor(lo / step) * step;
    a->hi = ceil(hi / step) * step;
    a->n_ticks = 0;
    for (double t = a->lo; t <= a->hi + step * 1e-6 && a->n_ticks < MAX_TICKS; t += step)
        a->ticks[a->n_ticks++] = fabs(t) < step * 1e-9 ? 0.0 : t;
}

/* Logarithmic axis over [lo, hi] (both > 0), widened to its outer ticks. Across a decade or more
 * the ticks are 1, 2 and 5 times powers of ten; within less (the usual loss curve) they are the
 * round values a linear axis would have, placed logarithmically. */
static void axis_log(Axis *a, double lo, double hi) {
    if (!(hi > lo)) {
        lo /= 1.2;
        hi *= 1.2;
    }
    if (log10(hi / lo) < 1.0) {
        axis_linear(a, lo, hi, 6);
        if (a->n_ticks > 1 && a->ticks[0] <= 0.0) { /* a tick at 0 has no place on a log axis */
            memmove(a->ticks, a->ticks + 1, (size_t)(a->n_ticks - 1) * sizeof *a->ticks);
            a->n_ticks--;
            a->lo = fmin(lo, a->ticks[0]);
        }
        a->log = 1;
        a->lo = log10(a->lo);
        a->hi = log10(a->hi);
        return;
    }
    static const double m[] = {1, 2, 5};
    double below = 0.0, above = 0.0;
    a->log = 1;
    a->n_ticks = 0;
    for (int e = (int)floor(log10(lo)) - 1; e <= (int)ceil(log10(hi)); e++)
        for (int k = 0; k < 3; k++) {
            double t = m[k] * pow(10.0, e);
            if (t <= lo * (1 + 1e-9)) below = t;
            if (t >= hi * (1 - 1e-9) && above == 0.0) above = t;
            if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9) && a->n_ticks < MAX_TICKS) a->ticks[a->n_ticks++] = t;
        }
    if (below > 0.0 && below < lo && a->n_ticks < MAX_TICKS) {
        memmove(a->ticks + 1, a->ticks, (size_t)a->n_ticks * sizeof *a->ticks);
        a->ticks[0] = below;
        a->n_ticks++;
    }
    if (above > hi && a->n_ticks < MAX_TICKS) a->ticks[a->n_ticks++] = above;
    a->lo = log10(below > 0.0 ? fmin(below, lo) : lo);
    a->hi = log10(above > 0.0 ? fmax(above, hi) : hi);
}

static double axis_pos(const Axis *a, double v, double from, double to) {
    double x = a->log ? log10(v) : v;
    return from + (x - a->lo) / (a->hi - a->lo) * (to - from);
}

/* A tick label: as few digits as tell the ticks apart. */
static void tick_label(double v, char *out, size_t size) {
    if (fabs(v) >= 1e5 || (v != 0.0 && fabs(v) < 1e-3)) snprintf(out, size, "%.0e", v);
    else snprintf(out, size, "%g", v);
}

/* XML text: & < > escaped; control characters (which XML forbids) left out and bytes that are not
 * UTF-8 (a title cut inside a character, a file name in another encoding) shown as '?'. */
static void put_xml(FILE *fp, const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len == 0) {
            fputc('?', fp);
            i++;
            continue;
        }
        if (cp == '&') fputs("&amp;", fp);
        else if (cp == '<') fputs("&lt;", fp);
        else if (cp == '>') fputs("&gt;", fp);
        else if (cp >= 0x20) fwrite(s + i, 1, (size_t)len, fp);
        i += (size_t)len;
    }
}

/* Row i's value of a series (the double at offset in LogRow), if it is drawn: finite, and positive
 * on a log axis. */
static int series_point(const RunLog *log, size_t i, size_t offset, const Axis *y, double *v) {
    *v = *(const double *)((const char *)&log->rows[i] + offset);
    return isfinite(*v) && !(y->log && *v <= 0);
}

/* The polyline of one series, and a marker at each point if `markers`. */
static int put_series(FILE *fp, const RunLog *log, size_t offset, const Axis *x, const Axis *y,
                      const char *color, int markers) {
    int points = 0;
    double v;
    fprintf(fp, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\" stroke-linejoin=\"round\" points=\"",
            color);
    for (size_t i = 0; i < log->n; i++)
        if (series_point(log, i, offset, y, &v))
            fprintf(fp, "%s%.1f,%.1f", points++ ? " " : "", axis_pos(x, (double)log->rows[i].iter, LEFT, W - RIGHT),
                    axis_pos(y, v, H - BOTTOM, TOP));
    fputs("\"/>\n", fp);
    if (markers)
        for (size_t i = 0; i < log->n; i++)
            if (series_point(log, i, offset, y, &v))
                fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                        axis_pos(x, (double)log->rows[i].iter, LEFT, W - RIGHT), axis_pos(y, v, H - BOTTOM, TOP),
                        color);
    return points;
}

int plot_svg(const char *path, const RunLog *log, const char *title, int log_scale, char *err, size_t err_size) {
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    int has_val = 0, has_train = 0;
    for (size_t i = 0; i < log->n; i++) {
        const LogRow *r = &log->rows[i];
        double vals[2] = {r->train_loss, r->val_loss};
        for (int k = 0; k < 2; k++) {
            if (!isfinite(vals[k]) || (log_scale && vals[k] <= 0)) continue;
            y_lo = fmin(y_lo, vals[k]);
            y_hi = fmax(y_hi, vals[k]);
            x_lo = fmin(x_lo, (double)r->iter);
            x_hi = fmax(x_hi, (double)r->iter);
            if (k) has_val = 1;
            else has_train = 1;
        }
    }
    if (!has_train && !has_val) return error_text(err, err_size, "%s: no loss values to plot", path);
    if (!isfinite(y_hi - y_lo) || !isfinite(x_hi - x_lo) || (log_scale && !isfinite(y_hi / y_lo)))
        return error_text(err, err_size, "%s: the values span too wide a range to plot", path);
    Axis x, y;
    axis_linear(&x, fmin(x_lo, 0.0), x_hi, 8);
    if (log_scale) axis_log(&y, y_lo, y_hi);
    else axis_linear(&y, y_lo, y_hi, 6);

    char *target = output_target(path, err, err_size);
    if (!target) return -1;
    char *tmp = temp_path(target);
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        int e = errno;
        free(tmp);
        free(target);
        return error_text(err, err_size, "%s: cannot write the plot: %s", path, strerror(e));
    }
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fputs("<text x=\"", fp);
    fprintf(fp, "%.1f\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">", (LEFT + W - RIGHT) / 2);
    put_xml(fp, title);
    fputs("</text>\n", fp);
    /* grid and ticks */
    fputs("<g stroke=\"#e3e3e3\" stroke-width=\"1\">\n", fp);
    for (int i = 0; i < x.n_ticks; i++) {
        double px = axis_pos(&x, x.ticks[i], LEFT, W - RIGHT);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px, TOP, px, H - BOTTOM);
    }
    for (int i = 0; i < y.n_ticks; i++) {
        double py = axis_pos(&y, y.ticks[i], H - BOTTOM, TOP);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", LEFT, py, W - RIGHT, py);
    }
    fputs("</g>\n<g fill=\"#333\">\n", fp);
    char label[32];
    for (int i = 0; i < x.n_ticks; i++) {
        tick_label(x.ticks[i], label, sizeof label);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                axis_pos(&x, x.ticks[i], LEFT, W - RIGHT), H - BOTTOM + 20, label);
    }
    for (int i = 0; i < y.n_ticks; i++) {
        tick_label(y.ticks[i], label, sizeof label);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", LEFT - 8,
                axis_pos(&y, y.ticks[i], H - BOTTOM, TOP) + 4.5, label);
    }
    fprintf(fp,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n"
            "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\">"
            "cross-entropy loss (nats%s)</text>\n</g>\n",
            (LEFT + W - RIGHT) / 2, H - 16, (TOP + H - BOTTOM) / 2, (TOP + H - BOTTOM) / 2,
            log_scale ? ", log scale" : "");
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n",
            LEFT, TOP, W - RIGHT - LEFT, H - BOTTOM - TOP);
    /* curves: train without markers (many points), validation with (few) */
    if (has_train) put_series(fp, log, offsetof(LogRow, train_loss), &x, &y, TRAIN_COLOR, 0);
    if (has_val) put_series(fp, log, offsetof(LogRow, val_loss), &x, &y, VAL_COLOR, 1);
    /* legend, top right inside the plot */
    double lx = W - RIGHT - 164, ly = TOP + 12;
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"152\" height=\"%d\" fill=\"white\" fill-opacity=\"0.9\" "
                "stroke=\"#ccc\"/>\n",
            lx, ly, has_train && has_val ? 48 : 28);
    int row = 0;
    if (has_train) {
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\">train loss</text>\n",
                lx + 10, ly + 14, lx + 36, ly + 14, TRAIN_COLOR, lx + 44, ly + 18.5);
        row++;
    }
    if (has_val)
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>"
                    "<text x=\"%.1f\" y=\"%.1f\">validation loss</text>\n",
                lx + 10, ly + 14 + 20 * row, lx + 36, ly + 14 + 20 * row, VAL_COLOR, lx + 23, ly + 14 + 20 * row,
                VAL_COLOR, lx + 44, ly + 18.5 + 20 * row);
    fputs("</svg>\n", fp);
    int ok = fflush(fp) == 0 && !ferror(fp);
    int e = errno;
    if (fclose(fp) != 0) ok = 0;
    int rc = 0;
    if (!ok || rename(tmp, target) != 0) {
        rc = error_text(err, err_size, "%s: cannot write the plot: %s", path, strerror(ok ? errno : e));
        unlink(tmp);
    }
    free(tmp);
    free(target);
    return rc;
}
