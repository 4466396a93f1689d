/* hets-load --report: answers per second, and the HTML page (see
 * load_report.h).  The page is plain HTML with inline CSS and two inline
 * SVG charts, written with fprintf; every string that comes from the user
 * (host, file names, paths, the command line) goes through
 * ohets_load_html_escape. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "tools/load_report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "openhets/openhets.h"
#include "tools/load_req.h"

/* ------------------------------------------------------- answers per second */

void ohets_load_tput_init(ohets_load_tput *t) { memset(t, 0, sizeof *t); }

/* Every bin twice as wide: pairs added. */
static void tput_widen(ohets_load_tput *t) {
  for (size_t j = 0; j < OHETS_LOAD_TPUT_BINS / 2; j++)
    t->bins[j] = t->bins[2 * j] + t->bins[2 * j + 1];
  memset(t->bins + OHETS_LOAD_TPUT_BINS / 2, 0,
         (OHETS_LOAD_TPUT_BINS / 2) * sizeof t->bins[0]);
  t->shift++;
}

size_t ohets_load_tput_grow(ohets_load_tput *t, uint64_t sec) {
  while (t->shift < 40 && (sec >> t->shift) >= OHETS_LOAD_TPUT_BINS)
    tput_widen(t);
  uint64_t i = sec >> t->shift;
  return i < OHETS_LOAD_TPUT_BINS ? (size_t)i : OHETS_LOAD_TPUT_BINS - 1u;
}

void ohets_load_tput_merge(ohets_load_tput *dst, ohets_load_tput *src) {
  while (dst->shift < src->shift)
    tput_widen(dst);
  while (src->shift < dst->shift)
    tput_widen(src);
  for (size_t i = 0; i < OHETS_LOAD_TPUT_BINS; i++)
    dst->bins[i] += src->bins[i];
}

/* ------------------------------------------------------------- escaping */

/* Length of the valid UTF-8 sequence at p (not ASCII), 0 when invalid or a
 * C1 control character. */
static size_t utf8_len(const unsigned char *p) {
  unsigned c = p[0];
  if (c >= 0xc2 && c <= 0xdf)
    return (p[1] & 0xc0) == 0x80 && !(c == 0xc2 && p[1] < 0xa0) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
  }
  return 0;
}

void ohets_load_html_escape(FILE *f, const char *s) {
  const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
  while (*p != '\0') {
    unsigned c = *p;
    if (c >= 0x80) {
      size_t n = utf8_len(p); /* stops at the NUL: it is no continuation byte */
      if (n == 0) {
        fputs("&#xFFFD;", f);
        p++;
      } else {
        fwrite(p, 1, n, f);
        p += n;
      }
      continue;
    }
    switch (c) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default:
      if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
        fputs("&#xFFFD;", f);
      else
        fputc((int)c, f);
    }
    p++;
  }
}

#define esc ohets_load_html_escape

/* ------------------------------------------------------------- numbers */

/* 1234567 -> "1,234,567". */
static const char *commas(uint64_t v, char *buf, size_t sz) {
  char digits[24];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  size_t o = 0;
  for (int i = 0; i < n && o + 2 < sz; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
  return buf;
}

/* A rate: whole with commas from 100 up, else one decimal. */
static const char *rate_text(double v, char *buf, size_t sz) {
  if (v >= 99.95)
    return commas((uint64_t)llround(v), buf, sz);
  snprintf(buf, sz, "%.1f", v);
  return buf;
}

/* A latency in microseconds: number and unit, 3 significant digits. */
static void lat_parts(double us, char *num, size_t nsz, const char **unit) {
  double v = us;
  *unit = "\xc2\xb5s"; /* µs */
  if (us >= 1e6) {
    v = us / 1e6;
    *unit = "s";
  } else if (us >= 1000) {
    v = us / 1000;
    *unit = "ms";
  }
  if (v >= 100)
    snprintf(num, nsz, "%.0f", v);
  else if (v >= 10)
    snprintf(num, nsz, "%.1f", v);
  else if (us >= 1000)
    snprintf(num, nsz, "%.2f", v);
  else
    snprintf(num, nsz, "%.0f", v);
}

#define LAT_TEXT 48
static const char *lat_text(double us, char buf[LAT_TEXT], size_t sz) {
  char num[24];
  const char *unit;
  lat_parts(us, num, sizeof num, &unit);
  snprintf(buf, sz < LAT_TEXT ? sz : LAT_TEXT, "%s %s", num, unit);
  return buf;
}

/* A step of 1, 2, 2.5 or 5 times a power of ten for an axis from 0 to at
 * least top: the one that ends the axis lowest with at most n steps. */
static double nice_step(double top, int n) {
  if (!(top > 0))
    return 1;
  static const double ms[] = {1, 2, 2.5, 5, 10};
  double mag = pow(10, floor(log10(top / n))), best = 10 * mag, best_top = HUGE_VAL;
  for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
    double step = ms[i] * mag, end = ceil(top / step - 1e-9) * step;
    if (end / step <= n + 1e-9 && end < best_top - 1e-9 * top) {
      best = step;
      best_top = end;
    }
  }
  return best;
}

/* Decimals a tick label needs for this step. */
static int step_decimals(double step) {
  if (step >= 1)
    return step == floor(step) ? 0 : 1;
  int d = (int)ceil(-log10(step) - 1e-9);
  if (fabs(step * pow(10, d) - round(step * pow(10, d))) > 1e-6)
    d++;
  return d;
}

/* A tick value: commas when whole, else the step's decimals. */
static const char *tick_text(double v, int decimals, char *buf, size_t sz) {
  if (decimals == 0)
    return commas((uint64_t)llround(v), buf, sz);
  snprintf(buf, sz, "%.*f", decimals, v);
  return buf;
}

/* ------------------------------------------------------------- charts */

/* Both charts: a 1000 x 380 view box, the plot inside these margins. */
#define VB_W 1000.0
#define VB_H 380.0
#define PL 84.0  /* left */
#define PR 30.0  /* right */
#define PT 22.0  /* top */
#define PB 56.0  /* bottom */
#define PW (VB_W - PL - PR)
#define PH (VB_H - PT - PB)

static double ypos(double v, double top) { return PT + PH - (top > 0 ? v / top : 0) * PH; }

/* Horizontal grid lines and the y axis's labels: 0 .. top by step, each
 * value divided by div for its label. */
static void y_grid(FILE *f, double top, double step, double div) {
  int d = step_decimals(step / div);
  char buf[48];
  fputs("<g class=\"grid\">", f);
  for (double v = 0; v <= top * (1 + 1e-9); v += step) {
    double y = ypos(v, top);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", PL, y, PL + PW, y);
  }
  fputs("</g>\n<g class=\"ylab\">", f);
  for (double v = 0; v <= top * (1 + 1e-9); v += step)
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", PL - 8, ypos(v, top) + 4.5,
            tick_text(v / div, d, buf, sizeof buf));
  fputs("</g>\n", f);
}

static void axes(FILE *f, const char *xtitle, const char *ytitle) {
  fprintf(f,
          "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
          "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
          PL, PT, PL, PT + PH, PL, PT + PH, PL + PW, PT + PH);
  fprintf(f, "<text class=\"atitle\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
          PL + PW / 2, VB_H - 10, xtitle);
  fprintf(f,
          "<text class=\"atitle\" transform=\"translate(18 %.1f) rotate(-90)\" "
          "text-anchor=\"middle\">%s</text>\n",
          PT + PH / 2, ytitle);
}

typedef struct bin {
  double from, to; /* seconds since the start */
  uint64_t n;
} bin;

/* The bins to draw: as counted, up to the end of the run; a last bin
 * shorter than half a bin joins the one before (its few answers over a
 * sliver of time would draw a spike that is no rate).  The number of bins. */
static size_t tput_bins(const ohets_load_report *r, bin *out) {
  const ohets_load_tput *t = r->tput;
  double w = ldexp(1.0, (int)t->shift), end = r->seconds > 0 ? r->seconds : 0.001;
  size_t nb = (size_t)ceil(end / w - 1e-9), last = 0;
  for (size_t i = 0; i < OHETS_LOAD_TPUT_BINS; i++)
    if (t->bins[i] != 0)
      last = i;
  if (nb < 1)
    nb = 1;
  if (nb > OHETS_LOAD_TPUT_BINS)
    nb = OHETS_LOAD_TPUT_BINS;
  for (size_t i = 0; i < nb; i++) {
    out[i].from = (double)i * w;
    out[i].to = i + 1 == nb ? end : (double)(i + 1) * w;
    out[i].n = t->bins[i];
  }
  for (size_t i = nb; i <= last; i++) /* an answer at the very end */
    out[nb - 1].n += t->bins[i];
  if (nb >= 2 && out[nb - 1].to - out[nb - 1].from < w / 2) {
    out[nb - 2].to = out[nb - 1].to;
    out[nb - 2].n += out[nb - 1].n;
    nb--;
  }
  return nb;
}

static void chart_throughput(FILE *f, const ohets_load_report *r) {
  static bin bins[OHETS_LOAD_TPUT_BINS];
  size_t nb = tput_bins(r, bins);
  double end = bins[nb - 1].to, peak = 0, total = 0;
  for (size_t i = 0; i < nb; i++) {
    double rate = (double)bins[i].n / (bins[i].to - bins[i].from);
    peak = rate > peak ? rate : peak;
    total += (double)bins[i].n;
  }
  double want = peak > r->rate ? peak : r->rate;
  double ystep = nice_step(want > 0 ? want * 1.06 : 1, 8);
  double ytop = ceil((want > 0 ? want * 1.06 : 1) / ystep) * ystep;
  /* minutes on the x axis for long runs, milliseconds for short ones */
  double xdiv = end > 600 ? 60 : end < 2 ? 0.001 : 1;
  double xstep = nice_step(end / xdiv, 10) * xdiv;
  if (xdiv == 1 && xstep < 1)
    xstep = 1;
  char buf[64], buf2[64];

  fprintf(f,
          "<svg class=\"chart\" id=\"throughput\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
          "aria-labelledby=\"tput-title\">\n<title id=\"tput-title\">Answers per second over "
          "the run</title>\n",
          VB_W, VB_H);
  y_grid(f, ytop, ystep, 1);
  fputs("<g class=\"xlab\">", f);
  int xd = step_decimals(xstep / xdiv);
  for (double x = 0; x <= end * (1 + 1e-9); x += xstep) {
    double px = PL + x / end * PW;
    fprintf(f, "<line class=\"tick\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
            PT + PH, px, PT + PH + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", px, PT + PH + 21,
            tick_text(x / xdiv, xd, buf, sizeof buf));
  }
  fputs("</g>\n", f);

  /* the steps: one level per bin */
  fputs("<path class=\"area\" d=\"", f);
  for (size_t i = 0; i < nb; i++) {
    double y = ypos((double)bins[i].n / (bins[i].to - bins[i].from), ytop);
    fprintf(f, "%s%.1f,%.1f L%.1f,%.1f ", i == 0 ? "M" : "L", PL + bins[i].from / end * PW, y,
            PL + bins[i].to / end * PW, y);
  }
  fprintf(f, "L%.1f,%.1f L%.1f,%.1f Z\"/>\n", PL + PW, PT + PH, PL, PT + PH);
  fputs("<path class=\"data line\" d=\"", f);
  for (size_t i = 0; i < nb; i++) {
    double y = ypos((double)bins[i].n / (bins[i].to - bins[i].from), ytop);
    fprintf(f, "%s%.1f,%.1f L%.1f,%.1f ", i == 0 ? "M" : "L", PL + bins[i].from / end * PW, y,
            PL + bins[i].to / end * PW, y);
  }
  fputs("\"/>\n", f);

  /* the mean over the run, and an open loop's target */
  double mean = end > 0 ? total / end : 0;
  if (mean > 0) {
    double y = ypos(mean, ytop);
    fprintf(f, "<line class=\"mean\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", PL, y,
            PL + PW, y);
    fprintf(f, "<text class=\"meanlab\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">mean %s/s</text>\n",
            PL + PW - 6, y + 17, rate_text(mean, buf, sizeof buf));
  }
  if (r->rate > 0) {
    double y = ypos(r->rate, ytop);
    fprintf(f, "<line class=\"target\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", PL, y,
            PL + PW, y);
    fprintf(f, "<text class=\"targetlab\" x=\"%.1f\" y=\"%.1f\">target %s/s</text>\n", PL + 8,
            y - 7, rate_text(r->rate, buf2, sizeof buf2));
  }
  if (total == 0)
    fprintf(f, "<text class=\"marklab\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
               "answers</text>\n",
            PL + PW / 2, PT + PH / 2);
  axes(f,
       xdiv == 60  ? "minutes since the start"
       : xdiv == 1 ? "seconds since the start"
                   : "milliseconds since the start",
       "answers per second");
  fputs("</svg>\n", f);
}

/* The percentile curve: x = -log10(1 - p/100), so 0, 90, 99, 99.9 and
 * 99.99 are evenly spaced. */
#define PX_MAX 4.0
#define PSTEPS 400

static double pct_of(double x) { return 100.0 * (1.0 - pow(10, -x)); }

static void chart_percentiles(FILE *f, const ohets_load_report *r) {
  static double us[PSTEPS + 1];
  char buf2[LAT_TEXT];
  double top = 0;
  for (int i = 0; i <= PSTEPS; i++) {
    double x = PX_MAX * i / PSTEPS;
    us[i] = (double)ohets_load_hist_percentile(r->hist, i == PSTEPS ? 99.99 : pct_of(x)) / 1e3;
    top = us[i] > top ? us[i] : top;
  }
  /* the axis unit: µs, ms or s by the top of the curve */
  double div = top >= 2e6 ? 1e6 : top >= 2000 ? 1000 : 1;
  const char *ytitle = div == 1e6 ? "latency (s)" : div == 1000 ? "latency (ms)"
                                                                : "latency (\xc2\xb5s)";
  double ystep = nice_step(top > 0 ? top * 1.08 : 1, 8);
  if (div == 1 && ystep < 1)
    ystep = 1;
  double ytop = ceil((top > 0 ? top * 1.08 : 1) / ystep) * ystep;
  char buf[64];

  fprintf(f,
          "<svg class=\"chart\" id=\"percentiles\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
          "aria-labelledby=\"pct-title\">\n<title id=\"pct-title\">Latency by percentile, p0 to "
          "p99.99</title>\n",
          VB_W, VB_H);
  y_grid(f, ytop, ystep, div);
  static const struct {
    double p;
    const char *label;
  } ticks[] = {{0, "0"}, {50, "50"}, {75, "75"}, {90, "90"}, {99, "99"}, {99.9, "99.9"},
               {99.99, "99.99"}};
  fputs("<g class=\"xlab\">", f);
  for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++) {
    double x = -log10(1 - ticks[i].p / 100), px = PL + x / PX_MAX * PW;
    fprintf(f, "<line class=\"vgrid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", px,
            PT, px, PT + PH + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%s</text>", px, PT + PH + 21, ticks[i].label);
  }
  fputs("</g>\n", f);

  fputs("<path class=\"data pline\" d=\"", f);
  for (int i = 0; i <= PSTEPS; i++)
    fprintf(f, "%s%.1f,%.1f ", i == 0 ? "M" : "L", PL + (double)i / PSTEPS * PW,
            ypos(us[i], ytop));
  fputs("\"/>\n", f);

  /* the percentiles the summary gives, marked and labelled */
  static const struct {
    double p;
    const char *name;
  } marks[] = {{50, "p50"}, {90, "p90"}, {99, "p99"}, {99.9, "p99.9"}, {99.99, "p99.99"}};
  if (r->requests > 0)
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
      double x = -log10(1 - marks[i].p / 100), px = PL + x / PX_MAX * PW;
      double v = (double)ohets_load_hist_percentile(r->hist, marks[i].p) / 1e3;
      double py = ypos(v, ytop);
      int last = i + 1 == sizeof marks / sizeof marks[0];
      fprintf(f, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\"/>", px, py);
      /* left of and below the last point (the p99.9 label may be level with
       * it, above), above and right of the others */
      fprintf(f, "<text class=\"marklab\" x=\"%.1f\" y=\"%.1f\"%s>%s %s</text>\n",
              last ? px - 8 : px + 8,
              last ? (py > PT + PH - 24 ? py - 9 : py + 20) : (py < PT + 24 ? py + 20 : py - 9),
              last ? " text-anchor=\"end\"" : "", marks[i].name,
              lat_text(v, buf, sizeof buf));
    }
  if (r->requests == 0)
    fprintf(f, "<text class=\"marklab\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
               "answers: no latencies</text>\n",
            PL + PW / 2, PT + PH / 2);
  else
    fprintf(f, "<text class=\"maxlab\" x=\"%.1f\" y=\"%.1f\">fastest %s, slowest (max) %s"
               "</text>\n",
            PL + 10, PT + 16, lat_text(us[0], buf, sizeof buf),
            lat_text((double)ohets_load_hist_max(r->hist) / 1e3, buf2, sizeof buf2));
  axes(f, "percentile (%), on a log scale of 1 \xe2\x88\x92 p", ytitle);
  fputs("</svg>\n", f);
}

/* ------------------------------------------------------------- the page */

static const char STYLE[] =
    ":root{color-scheme:light}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#f3f5f8;color:#1c2630;font:15px/1.45 system-ui,-apple-system,"
    "\"Segoe UI\",Roboto,\"Helvetica Neue\",\"Liberation Sans\",\"DejaVu Sans\",Arial,sans-serif}\n"
    "main{max-width:1140px;margin:0 auto;padding:26px 30px 36px}\n"
    "h1{font-size:25px;margin:0 0 4px;font-weight:700}\n"
    "h1 .t{color:#1f5fbf}\n"
    ".sub{color:#586574;margin:0}\n"
    ".figs{display:grid;grid-template-columns:repeat(5,1fr);gap:14px;margin:20px 0 8px}\n"
    ".fig{background:#fff;border:1px solid #dbe2ea;border-radius:10px;padding:13px 16px 12px}\n"
    ".fig .v{font-size:36px;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    ".fig .u{font-size:18px;font-weight:600;color:#586574;margin-left:4px}\n"
    ".fig .k{color:#586574;font-size:12.5px;text-transform:uppercase;letter-spacing:.06em;"
    "margin-top:3px}\n"
    ".fig.bad{border-color:#e8a5a5;background:#fff6f6}.fig.bad .v{color:#c62828}\n"
    ".fig.good .v{color:#2e7d32}\n"
    ".minor{display:flex;flex-wrap:wrap;gap:4px 24px;color:#3a4654;margin:8px 2px 0;"
    "font-size:14px}\n"
    ".minor b{font-variant-numeric:tabular-nums;color:#1c2630}\n"
    ".card{background:#fff;border:1px solid #dbe2ea;border-radius:10px;padding:14px 18px 12px;"
    "margin-top:16px}\n"
    "h2{font-size:16.5px;margin:0 0 6px}\n"
    ".note{color:#66727f;font-size:13px;margin:4px 0 0}\n"
    "svg.chart{display:block;width:100%;height:auto}\n"
    "svg text{font-size:13px;fill:#4a5562}\n"
    ".ylab text{text-anchor:end}.xlab text{text-anchor:middle}\n"
    ".atitle{font-size:13.5px;fill:#2c3743;font-weight:600}\n"
    ".grid line,.vgrid{stroke:#e5e9ee;stroke-width:1}\n"
    ".axis,.tick{stroke:#8a96a3;stroke-width:1}\n"
    ".area{fill:#2f6fdb;fill-opacity:.15;stroke:none}\n"
    ".line{fill:none;stroke:#2f6fdb;stroke-width:2;stroke-linejoin:round}\n"
    ".pline{fill:none;stroke:#d9480f;stroke-width:2.2;stroke-linejoin:round}\n"
    ".mean{stroke:#2e7d32;stroke-width:1.5;stroke-dasharray:7 5}\n"
    ".meanlab,.targetlab,.marklab{paint-order:stroke;stroke:#fff;stroke-width:4px;"
    "stroke-linejoin:round}\n"
    ".meanlab{fill:#2e7d32;font-weight:600}\n"
    ".target{stroke:#8e24aa;stroke-width:1.5;stroke-dasharray:3 3}\n"
    ".targetlab{fill:#8e24aa;font-weight:600}\n"
    ".mark{fill:#fff;stroke:#d9480f;stroke-width:2}\n"
    ".marklab{fill:#1c2630;font-weight:600}\n"
    ".maxlab{fill:#586574}\n"
    ".cols{display:grid;grid-template-columns:1fr 1fr;gap:16px;align-items:start}\n"
    "table{border-collapse:collapse;width:100%;font-size:14px}\n"
    "td,th{padding:5px 8px;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}\n"
    "th{color:#586574;font-weight:600;white-space:nowrap}\n"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "td.w{white-space:nowrap}td.b{width:25%}\n"
    ".bar{height:9px;background:#8fb0ea;border-radius:5px;margin-top:6px}\n"
    "code,pre{font-family:ui-monospace,\"DejaVu Sans Mono\",\"Liberation Mono\",Menlo,"
    "Consolas,monospace}\n"
    "code{font-size:13px;overflow-wrap:anywhere}\n"
    "pre{background:#101820;color:#d8e1eb;padding:12px 16px;border-radius:8px;overflow:auto;"
    "font-size:13px;line-height:1.45;margin:6px 0 0}\n"
    "footer{color:#7a8692;font-size:12.5px;margin-top:18px}\n"
    "@media (max-width:800px){.figs{grid-template-columns:repeat(2,1fr)}"
    ".cols{grid-template-columns:1fr}}\n";

static void fig(FILE *f, const char *cls, const char *value, const char *unit, const char *key) {
  fprintf(f, "<div class=\"fig%s%s\"><div class=\"v\">%s", cls[0] ? " " : "", cls, value);
  if (unit != NULL)
    fprintf(f, "<span class=\"u\">%s</span>", unit);
  fprintf(f, "</div><div class=\"k\">%s</div></div>\n", key);
}

static void fig_latency(FILE *f, const char *key, uint64_t us) {
  char num[32];
  const char *unit;
  lat_parts((double)us, num, sizeof num, &unit);
  fig(f, "", num, unit, key);
}

static void header(FILE *f, const ohets_load_report *r, const char *when) {
  char host[256] = "";
  char buf[64];
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"hets-load (openhets) " OHETS_VERSION_STRING "\">\n"
        "<title>hets-load: ",
        f);
  esc(f, r->host);
  fprintf(f, ":%u, %s</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", r->port, when,
          STYLE);
  fputs("<header>\n<h1>Load test of <span class=\"t\">", f);
  esc(f, r->host);
  fprintf(f, ":%u</span></h1>\n<p class=\"sub\">%s &middot; %u connection%s &middot; %s", r->port,
          when, r->conns, r->conns == 1 ? "" : "s",
          r->rate > 0 ? "open loop" : "closed loop");
  if (r->rate > 0)
    fprintf(f, " at %s requests/s", rate_text(r->rate, buf, sizeof buf));
  if (r->tls)
    fputs(" &middot; TLS", f);
  if (r->new_conn)
    fputs(" &middot; a new connection per request", f);
  fprintf(f, " &middot; %.3f s", r->seconds);
  if (gethostname(host, sizeof host - 1) == 0 && host[0] != '\0') {
    fputs(" &middot; from ", f);
    esc(f, host);
  }
  fputs("</p>\n</header>\n", f);
}

static void key_figures(FILE *f, const ohets_load_report *r) {
  char buf[64], buf2[64], buf3[64];
  fputs("<section class=\"figs\" id=\"figures\">\n", f);
  fig(f, "", rate_text(r->tps, buf, sizeof buf), NULL, "requests per second");
  fig_latency(f, "p50 latency", r->lat_us[0]);
  fig_latency(f, "p99 latency", r->lat_us[2]);
  fig_latency(f, "p99.9 latency", r->lat_us[3]);
  fig(f, r->errors > 0 ? "bad" : "good", commas(r->errors, buf, sizeof buf), NULL,
      r->errors == 1 ? "error" : "errors");
  fputs("</section>\n<div class=\"minor\">", f);
  fprintf(f, "<span>requests <b>%s</b></span>", commas(r->requests, buf, sizeof buf));
  fprintf(f, "<span>p90 <b>%s</b></span>", lat_text((double)r->lat_us[1], buf, sizeof buf));
  fprintf(f, "<span>max <b>%s</b></span>", lat_text((double)r->lat_us[4], buf, sizeof buf));
  fprintf(f, "<span>unexpected closes <b>%s</b></span>", commas(r->closes, buf, sizeof buf));
  fprintf(f, "<span>run <b>%.3f s</b></span>", r->seconds);
  if (r->tls) {
    fprintf(f, "<span>TLS handshakes <b>%s</b> (p50 %s, p99 %s)</span>",
            commas(r->handshakes, buf, sizeof buf),
            lat_text((double)r->hs_lat_us[0], buf2, sizeof buf2),
            lat_text((double)r->hs_lat_us[1], buf3, sizeof buf3));
    if (r->resume)
      fprintf(f, "<span>resumed <b>%s</b></span>", commas(r->resumed, buf, sizeof buf));
  }
  fputs("</div>\n", f);
}

static void answers_table(FILE *f, const ohets_load_report *r) {
  static const char *const what[] = {"eligibility response", "implementation ack",
                                     "interchange ack", "HETS error record"};
  char buf[64];
  uint64_t all = 0;
  for (int k = 0; k < 4; k++)
    all += r->answers[k];
  fputs("<section class=\"card\" id=\"answers\">\n<h2>Answers</h2>\n<table>\n", f);
  for (int k = 0; k < 4; k++) {
    double share = all > 0 ? 100.0 * (double)r->answers[k] / (double)all : 0;
    fprintf(f,
            "<tr><th>%s</th><td class=\"w\">%s</td><td class=\"n\">%s</td><td class=\"n\">%.1f%%</td>"
            "<td class=\"b\"><div class=\"bar\" style=\"width:%.1f%%\"></div></td></tr>\n",
            ohets_answer_name((ohets_answer)k), what[k], commas(r->answers[k], buf, sizeof buf),
            share, share);
  }
  fputs("</table>\n", f);
  int any = 0;
  for (int s = 0; s < OHETS_LOAD_AAA_SLOTS; s++)
    if (r->aaa != NULL && r->aaa[s] != 0) {
      char code[3];
      ohets_load_aaa_code(s, code);
      fprintf(f, "%s<b>%s</b> %s", any ? ", " : "<p class=\"note\">AAA reject reasons in the 271s: ",
              code, commas(r->aaa[s], buf, sizeof buf));
      any = 1;
    }
  fputs(any ? ".</p>\n" : "<p class=\"note\">No AAA segment in the 271s.</p>\n", f);
  fprintf(f, "<p class=\"note\">Errors (no usable answer, timeouts, failed connects): <b>%s</b>; ",
          commas(r->errors, buf, sizeof buf));
  fprintf(f, "unexpected closes: <b>%s</b>.", commas(r->closes, buf, sizeof buf));
  if (r->tls_failures > 0) {
    fprintf(f, " %s TLS connection%s failed; the first: ", commas(r->tls_failures, buf, sizeof buf),
            r->tls_failures == 1 ? "" : "s");
    esc(f, r->tls_error);
    fputc('.', f);
  }
  fputs("</p>\n</section>\n", f);
}

/* The command line, each word quoted when the shell would need it. */
static void command_line(FILE *f, const ohets_load_report *r) {
  for (int i = 0; i < r->argc; i++) {
    const char *a = r->argv[i];
    if (i > 0)
      fputc(' ', f);
    if (a[0] != '\0' && strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                  "0123456789-_./:=,+@%") == strlen(a)) {
      esc(f, a);
      continue;
    }
    fputc('\'', f);
    for (const char *p = a; *p != '\0';) {
      size_t n = strcspn(p, "'");
      if (n > 0) {
        char *seg = strndup(p, n);
        esc(f, seg != NULL ? seg : "?");
        free(seg);
        p += n;
      }
      if (*p == '\'') { /* '\'' */
        fputs("'\\''", f);
        p++;
      }
    }
    fputc('\'', f);
  }
}

#define MAX_FILES_SHOWN 40

static void settings_table(FILE *f, const ohets_load_report *r, const char *when) {
  char buf[64];
  fputs("<section class=\"card\" id=\"settings\">\n<h2>Settings</h2>\n<table>\n", f);
  fputs("<tr><th>target</th><td><code>", f);
  esc(f, r->host);
  fprintf(f, ":%u</code></td></tr>\n", r->port);
  fprintf(f, "<tr><th>started</th><td>%s</td></tr>\n", when);
  fprintf(f, "<tr><th>connections</th><td>%u, on %u thread%s</td></tr>\n", r->conns, r->threads,
          r->threads == 1 ? "" : "s");
  if (r->count > 0)
    fprintf(f, "<tr><th>length</th><td><code>-n %llu</code>: %s requests (took %.3f s)</td></tr>\n",
            (unsigned long long)r->count, commas(r->count, buf, sizeof buf), r->seconds);
  else
    fprintf(f, "<tr><th>length</th><td><code>-d %g</code>: %g s (took %.3f s, with the answers "
               "still due at the end)</td></tr>\n",
            r->duration_s, r->duration_s, r->seconds);
  if (r->rate > 0)
    fprintf(f, "<tr><th>rate</th><td>open loop, %s requests/s in total (latency counts from "
               "each request&#39;s scheduled time)</td></tr>\n",
            rate_text(r->rate, buf, sizeof buf));
  else
    fputs("<tr><th>rate</th><td>closed loop (each socket sends when its answer "
          "arrives)</td></tr>\n",
          f);
  fprintf(f, "<tr><th>connection use</th><td>%s</td></tr>\n",
          r->new_conn ? "a new connection for every request" : "kept open");
  fputs("<tr><th>TLS</th><td>", f);
  if (!r->tls) {
    fputs("off", f);
  } else {
    fputs("on", f);
    if (r->cert != NULL) {
      fputs("; client certificate <code>", f);
      esc(f, r->cert);
      fputs("</code>", f);
    }
    if (r->ca != NULL) {
      fputs("; server verified against <code>", f);
      esc(f, r->ca);
      fputs("</code>", f);
    } else {
      fputs("; the server&#39;s certificate <b>not verified</b> (no --ca)", f);
    }
    if (r->resume)
      fputs("; sessions resumed", f);
  }
  fputs("</td></tr>\n", f);
  if (r->db != NULL) {
    fputs("<tr><th>requests</th><td>from the store <code>", f);
    esc(f, r->db);
    fprintf(f, "</code>: a pool of %zu (%zu hits, %zu misses, %zu malformed; --mix %u,%u,%u)"
               "</td></tr>\n",
            r->hits + r->misses + r->malformed, r->hits, r->misses, r->malformed, r->mix[0],
            r->mix[1], r->mix[2]);
    fputs("<tr><th>submitter</th><td><code>", f);
    esc(f, r->submitter);
    fputs("</code> (ISA06/GS02), provider NPI <code>", f);
    esc(f, r->npi);
    fputs("</code></td></tr>\n", f);
  } else {
    fprintf(f, "<tr><th>requests</th><td>%zu file%s, sent round-robin as they are:", r->nfiles,
            r->nfiles == 1 ? "" : "s");
    for (size_t i = 0; i < r->nfiles && i < MAX_FILES_SHOWN; i++) {
      fputs(i == 0 ? " <code>" : ", <code>", f);
      esc(f, r->files[i]);
      fputs("</code>", f);
    }
    if (r->nfiles > MAX_FILES_SHOWN)
      fprintf(f, " and %zu more", r->nfiles - MAX_FILES_SHOWN);
    fputs("</td></tr>\n", f);
  }
  fprintf(f, "<tr><th>framing</th><td>%s</td></tr>\n",
          r->unwrapped ? "bare X12 (--unwrapped)" : "HETS transmission wrapper");
  fprintf(f, "<tr><th>timeout</th><td>%g s</td></tr>\n", r->timeout_s);
  fputs("<tr><th>command</th><td><code>", f);
  command_line(f, r);
  fputs("</code></td></tr>\n</table>\n</section>\n", f);
}

int ohets_load_report_write(FILE *f, const ohets_load_report *r) {
  char when[64] = "";
  struct tm tm;
  if (localtime_r(&r->started, &tm) != NULL)
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);

  header(f, r, when);
  key_figures(f, r);

  fputs("<section class=\"card\" id=\"throughput-card\">\n<h2>Throughput over time</h2>\n", f);
  chart_throughput(f, r);
  if (r->tput->shift == 0)
    fputs("<p class=\"note\">Answers received in each second of the run, as a rate", f);
  else
    fprintf(f, "<p class=\"note\">Answers received in each %llu seconds of the run (a long run "
               "is counted in wider bins), as a rate",
            1ull << r->tput->shift);
  fprintf(f, "; the dashed line is the mean over the run%s.</p>\n</section>\n",
          r->rate > 0 ? ", the dotted one the target rate" : "");
  fputs("<section class=\"card\" id=\"latency-card\">\n<h2>Latency by percentile</h2>\n", f);
  chart_percentiles(f, r);
  fprintf(f, "<p class=\"note\">From p0 (the fastest answer) to p99.99: each point is the "
             "latency that this share of the %s answers did not exceed (within 1%%, from the "
             "histogram). %s</p>\n</section>\n",
          r->requests > 0 ? "" : "(no)",
          r->rate > 0 ? "Open loop: latency counts from the scheduled time of each request."
                      : "Closed loop: latency counts from the send.");

  fputs("<div class=\"cols\">\n", f);
  answers_table(f, r);
  settings_table(f, r, when);
  fputs("</div>\n", f);

  fputs("<section class=\"card\" id=\"summary\">\n<h2>Summary (as <code>--json</code> prints "
        "it)</h2>\n<pre id=\"json\">",
        f);
  esc(f, r->json);
  fputs("</pre>\n</section>\n", f);
  fputs("<footer>Written by hets-load (openhets) " OHETS_VERSION_STRING
        ". This page is self-contained: inline CSS and SVG, no script, nothing fetched."
        "</footer>\n</main>\n</body>\n</html>\n",
        f);
  return ferror(f) ? -EIO : 0;
}

/* ------------------------------------------------------------- the file */

/* A regular file (or a link to one, or nothing yet) is replaced whole by
 * a rename; anything else (/dev/stdout, a pipe, a device) is written
 * straight into, after the run. */
int ohets_load_report_open(ohets_load_report_file *rf, const char *path, char *err,
                           size_t errsz) {
  struct stat st;
  memset(rf, 0, sizeof *rf);
  int exists = stat(path, &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    snprintf(err, errsz, "is a directory");
    return -EISDIR;
  }
  if (exists && access(path, W_OK) != 0) {
    int e = errno;
    snprintf(err, errsz, "cannot write: %s", strerror(e));
    return -e;
  }
  if (exists && !S_ISREG(st.st_mode)) {
    rf->path = strdup(path); /* rf->tmp stays NULL: written in place */
    if (rf->path == NULL) {
      snprintf(err, errsz, "out of memory");
      return -ENOMEM;
    }
    return 0;
  }
  /* through a link: the file it names is replaced, not the link */
  rf->path = exists ? realpath(path, NULL) : strdup(path);
  size_t n = rf->path != NULL ? strlen(rf->path) : 0;
  rf->tmp = malloc(n + 8);
  if (rf->path == NULL || rf->tmp == NULL) {
    ohets_load_report_discard(rf);
    snprintf(err, errsz, "out of memory");
    return -ENOMEM;
  }
  memcpy(rf->tmp, rf->path, n);
  memcpy(rf->tmp + n, ".XXXXXX", 8);
  int fd = mkostemp(rf->tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    free(rf->tmp);
    rf->tmp = NULL;
    ohets_load_report_discard(rf);
    snprintf(err, errsz, "cannot write there: %s", strerror(e));
    return -e;
  }
  mode_t um = umask(0); /* before the threads start: no race */
  umask(um);
  (void)fchmod(fd, 0666 & ~um);
  rf->f = fdopen(fd, "w");
  if (rf->f == NULL) {
    int e = errno;
    close(fd);
    ohets_load_report_discard(rf);
    snprintf(err, errsz, "%s", strerror(e));
    return -e;
  }
  return 0;
}

int ohets_load_report_commit(ohets_load_report_file *rf, const ohets_load_report *r, char *err,
                             size_t errsz) {
  int e = 0;
  if (rf->f == NULL) { /* written in place */
    rf->f = fopen(rf->path, "w");
    if (rf->f == NULL)
      e = errno;
  }
  errno = 0;
  if (e == 0 && ohets_load_report_write(rf->f, r) != 0)
    e = errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EPIPE ? errno : EIO;
  if (rf->f != NULL && fflush(rf->f) != 0 && e == 0)
    e = errno;
  if (rf->f != NULL && fclose(rf->f) != 0 && e == 0)
    e = errno;
  rf->f = NULL;
  if (e == 0 && rf->tmp != NULL && rename(rf->tmp, rf->path) != 0)
    e = errno;
  if (e != 0) {
    snprintf(err, errsz, "cannot write: %s", strerror(e));
    ohets_load_report_discard(rf);
    return -e;
  }
  free(rf->tmp); /* renamed: nothing to remove */
  rf->tmp = NULL;
  ohets_load_report_discard(rf);
  return 0;
}

void ohets_load_report_discard(ohets_load_report_file *rf) {
  if (rf->f != NULL)
    fclose(rf->f);
  rf->f = NULL;
  if (rf->tmp != NULL)
    unlink(rf->tmp);
  free(rf->tmp);
  free(rf->path);
  rf->tmp = NULL;
  rf->path = NULL;
}
