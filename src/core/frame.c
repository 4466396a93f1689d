/* Transmission framing: the HETS wrapper (SOH, 10-digit length, STX,
 * payload, ETX) and bare X12 that ends at the IEA segment's terminator.
 *
 * The decoder never copies: it looks at the caller's buffer and remembers
 * in d->scanned how far it got, so bytes arriving one at a time are each
 * examined once.  A broken byte is reported as soon as it arrives. */
#include <errno.h>
#include <string.h>

#include "openhets/openhets.h"
#include "x12.h"

#define WRAP_HEADER_LEN 12 /* SOH + 10 digits + STX */
#define WRAP_LENGTH_DIGITS 10
#define WRAP_LENGTH_MAX 9999999999ULL /* largest length 10 digits can say */
#define RAW_ISA_LEN 106               /* the ISA segment with its terminator */

static const char code_bad_wrapper[] = "HTS00001";
static const char code_too_big[] = "HTS00002";

/* How far the raw scanner has matched the current segment's ID. */
enum raw_seg_state {
  SEG_AT_START = 0, /* right after a terminator (CR/LF may still follow) */
  SEG_I,
  SEG_IE,
  SEG_IEA,     /* "IEA" read; the next byte says whether that is the ID */
  SEG_IN_IEA,  /* inside an IEA segment: its terminator ends the frame */
  SEG_OTHER    /* some other segment: wait for its terminator */
};

static void frame_state_reset(ohets_frame_decoder *d) {
  d->scanned = 0;
  d->raw = 0;
  d->resolved = 0;
  d->segterm = 0;
  d->elemsep = 0;
  d->start = 0;
  d->seg_state = SEG_AT_START;
}

void ohets_frame_decoder_init(ohets_frame_decoder *d, ohets_framing mode,
                              size_t max_frame) {
  memset(d, 0, sizeof *d);
  d->mode = mode;
  d->max_frame = max_frame;
  frame_state_reset(d);
}

static ohets_frame_status frame_fail(ohets_frame *out, const char *code) {
  out->error = code;
  return OHETS_FRAME_ERROR;
}

static ohets_frame_status frame_ready(ohets_frame_decoder *d, ohets_frame *out,
                                      size_t payload_off, size_t payload_len,
                                      size_t frame_len) {
  out->payload_off = payload_off;
  out->payload_len = payload_len;
  out->frame_len = frame_len;
  out->raw = d->raw;
  /* The caller drops frame_len bytes next, so every offset we kept is
   * stale: start the next frame from scratch. */
  d->after_raw = d->raw;
  frame_state_reset(d);
  return OHETS_FRAME_READY;
}

static int is_blank(uint8_t c) {
  return c == '\r' || c == '\n' || c == ' ' || c == '\t';
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static unsigned long long wrap_declared_length(const uint8_t *digits) {
  unsigned long long n = 0;
  for (size_t i = 0; i < WRAP_LENGTH_DIGITS; i++)
    n = n * 10 + (unsigned long long)(digits[i] - '0');
  return n;
}

static ohets_frame_status next_wrapped(ohets_frame_decoder *d,
                                       const uint8_t *buf, size_t len,
                                       ohets_frame *out) {
  size_t s = d->start;
  size_t have = len - s;
  size_t header_have = have < WRAP_HEADER_LEN ? have : WRAP_HEADER_LEN;
  /* Header bytes not yet looked at; scanned moves only past good bytes so
   * asking again gives the same answer. */
  for (size_t i = d->scanned - s; i < header_have; i++) {
    uint8_t c = buf[s + i];
    int ok = i == 0 ? c == OHETS_FRAME_SOH
                    : i <= WRAP_LENGTH_DIGITS ? is_digit(c) : c == OHETS_FRAME_STX;
    if (!ok)
      return frame_fail(out, code_bad_wrapper);
    /* Refuse an oversize frame the moment its length is known, before
     * anyone waits for (or buffers) its body. */
    if (i == WRAP_LENGTH_DIGITS &&
        wrap_declared_length(buf + s + 1) > (unsigned long long)d->max_frame)
      return frame_fail(out, code_too_big);
    d->scanned = s + i + 1;
  }
  if (have < WRAP_HEADER_LEN)
    return OHETS_FRAME_NEED_MORE;
  size_t payload_len = (size_t)wrap_declared_length(buf + s + 1);
  if (have - WRAP_HEADER_LEN <= payload_len) /* payload and ETX not all in */
    return OHETS_FRAME_NEED_MORE;
  size_t etx_at = s + WRAP_HEADER_LEN + payload_len;
  if (buf[etx_at] != OHETS_FRAME_ETX)
    return frame_fail(out, code_bad_wrapper);
  return frame_ready(d, out, s + WRAP_HEADER_LEN, payload_len, etx_at + 1);
}

static ohets_frame_status next_raw(ohets_frame_decoder *d, const uint8_t *buf,
                                   size_t len, ohets_frame *out) {
  size_t s = d->start;
  /* A payload may not pass max_frame bytes, so look no further. */
  size_t limit = len;
  int capped = 0;
  if (len - s > d->max_frame) {
    limit = s + d->max_frame;
    capped = 1;
  }
  /* The ISA is fixed width: "ISA", then the element separator at 3 and the
   * segment terminator at 105. */
  while (d->scanned < limit && d->scanned - s < RAW_ISA_LEN) {
    size_t i = d->scanned - s;
    if (i < 3 && buf[d->scanned] != (uint8_t)"ISA"[i])
      return frame_fail(out, code_bad_wrapper);
    if (i == RAW_ISA_LEN - 1) {
      d->elemsep = (char)buf[s + 3];
      d->segterm = (char)buf[s + RAW_ISA_LEN - 1];
      d->seg_state = SEG_AT_START;
    }
    d->scanned++;
  }
  if (d->scanned - s < RAW_ISA_LEN)
    return capped ? frame_fail(out, code_too_big) : OHETS_FRAME_NEED_MORE;

  uint8_t term = (uint8_t)d->segterm, sep = (uint8_t)d->elemsep;
  for (; d->scanned < limit; d->scanned++) {
    uint8_t c = buf[d->scanned];
    if (c == term) {
      if (d->seg_state == SEG_IEA || d->seg_state == SEG_IN_IEA) {
        size_t end = d->scanned + 1;
        return frame_ready(d, out, s, end - s, end);
      }
      d->seg_state = SEG_AT_START;
      continue;
    }
    switch (d->seg_state) {
    case SEG_AT_START:
      if (c != '\r' && c != '\n') /* line breaks after a terminator */
        d->seg_state = c == 'I' ? SEG_I : SEG_OTHER;
      break;
    case SEG_I:
      d->seg_state = c == 'E' ? SEG_IE : SEG_OTHER;
      break;
    case SEG_IE:
      d->seg_state = c == 'A' ? SEG_IEA : SEG_OTHER;
      break;
    case SEG_IEA:
      d->seg_state = c == sep ? SEG_IN_IEA : SEG_OTHER;
      break;
    default:
      break;
    }
  }
  return capped ? frame_fail(out, code_too_big) : OHETS_FRAME_NEED_MORE;
}

ohets_frame_status ohets_frame_next(ohets_frame_decoder *d, const uint8_t *buf,
                                    size_t len, ohets_frame *out) {
  memset(out, 0, sizeof *out);
  /* Fewer bytes than we already looked at means the caller dropped some
   * without a READY: nothing we remember can be trusted. */
  if (len < d->scanned)
    frame_state_reset(d);
  if (!d->resolved) {
    /* Raw streams commonly put line breaks between interchanges; in auto
     * mode that is only expected after a raw frame. */
    int skip_blanks = d->mode == OHETS_FRAMING_RAW ||
                      (d->mode == OHETS_FRAMING_AUTO && d->after_raw);
    while (skip_blanks && d->scanned < len && is_blank(buf[d->scanned]))
      d->scanned++;
    if (d->scanned > d->max_frame)
      return frame_fail(out, code_too_big);
    if (d->scanned >= len)
      return OHETS_FRAME_NEED_MORE;
    d->start = d->scanned;
    uint8_t first = buf[d->start];
    switch (d->mode) {
    case OHETS_FRAMING_RAW:
      d->raw = 1;
      break;
    case OHETS_FRAMING_AUTO:
      if (first == OHETS_FRAME_SOH)
        d->raw = 0;
      else if (first == 'I')
        d->raw = 1;
      else
        return frame_fail(out, code_bad_wrapper);
      break;
    default:
      d->raw = 0;
      break;
    }
    d->resolved = 1;
  }
  return d->raw ? next_raw(d, buf, len, out) : next_wrapped(d, buf, len, out);
}

int ohets_frame_wrap(ohets_buf *out, const uint8_t *payload, size_t len) {
  if ((unsigned long long)len > WRAP_LENGTH_MAX)
    return -EINVAL;
  /* Check room first so a failure never leaves half a frame behind. */
  if (out->len > out->max || len > out->max - out->len ||
      OHETS_FRAME_OVERHEAD > out->max - out->len - len)
    return -ENOBUFS;
  char header[WRAP_HEADER_LEN + 1];
  header[0] = OHETS_FRAME_SOH;
  ohets_dec_write(header + 1, len, 10); /* ten digits (len <= WRAP_LENGTH_MAX) */
  header[11] = OHETS_FRAME_STX;
  size_t before = out->len;
  int rc = ohets_buf_append(out, header, WRAP_HEADER_LEN);
  if (rc == 0)
    rc = ohets_buf_append(out, payload, len);
  if (rc == 0)
    rc = ohets_buf_putc(out, OHETS_FRAME_ETX);
  if (rc != 0)
    out->len = before;
  return rc;
}
