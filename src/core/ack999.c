/* The 999 (005010X231A1) transaction set: ST..SE from an ohets__ack.
 *
 * ohets__w_seg blanks every delimiter byte in a value, which is right for
 * data but would break the composites IK401 and CTX05, so this file puts
 * its segments together itself: numbers and fixed codes are written as
 * they are, copied data (IK404, control numbers) has its delimiters
 * blanked. */
#include <stdio.h>
#include <string.h>

#include "req270.h"

/* One element: either data (delimiters blanked) or a composite already
 * joined with the component separator (written as is). */
typedef struct el {
  const char *v;
  int raw;
} el;

static void put(ohets__w *w, const char *p, size_t n) {
  if (w->err == 0 && n > 0)
    w->err = ohets_buf_append(w->b, p, n);
}

static void put_data(ohets__w *w, const char *v) {
  for (const char *c = v; *c != '\0'; c++) {
    char ch = *c;
    if (ch == w->d.element || ch == w->d.segment || ch == w->d.component ||
        ch == w->d.repetition)
      ch = ' ';
    put(w, &ch, 1);
  }
}

/* Writes id and els[0..n), dropping trailing empty elements. */
static void put_seg(ohets__w *w, const char *id, const el *els, size_t n) {
  while (n > 0 && (els[n - 1].v == NULL || els[n - 1].v[0] == '\0'))
    n--;
  put(w, id, strlen(id));
  for (size_t i = 0; i < n; i++) {
    put(w, &w->d.element, 1);
    if (els[i].v == NULL)
      continue;
    if (els[i].raw)
      put(w, els[i].v, strlen(els[i].v));
    else
      put_data(w, els[i].v);
  }
  put(w, &w->d.segment, 1);
  w->count++;
}

/* "a", "a:b" or "a:b:c" with the component separator; a zero b before a
 * non-zero c is left empty. */
static void composite(char *dst, size_t size, char sep, unsigned a,
                      unsigned b, unsigned c) {
  if (c > 0 && b > 0)
    snprintf(dst, size, "%u%c%u%c%u", a, sep, b, sep, c);
  else if (c > 0)
    snprintf(dst, size, "%u%c%c%u", a, sep, sep, c);
  else if (b > 0)
    snprintf(dst, size, "%u%c%u", a, sep, b);
  else
    snprintf(dst, size, "%u", a);
}

/* IK303 and CTX03 are data element 447, Loop Identifier Code, AN 1/4: the
 * loop's number from the transaction set diagram ("2100"), without the
 * letter the implementation guide adds to name its loops ("2100C").
 * (Found by checking our 999s with pyx12; docs/decisions in the README.) */
static void loop_id(char out[5], const char *ig_loop) {
  ohets__copy(out, 5, ig_loop);
}

static void write_ctx(ohets__w *w, const ohets__ack_error *e) {
  char pos[12], elem[24] = "";
  snprintf(pos, sizeof pos, "%u", (unsigned)e->ctx_pos);
  if (e->ctx_elem > 0)
    composite(elem, sizeof elem, w->d.component, e->ctx_elem, 0, 0);
  char loop[5];
  loop_id(loop, e->ctx_loop);
  el els[] = {{"SITUATIONAL TRIGGER", 0}, {e->ctx_seg, 0}, {pos, 1},
              {loop, 0}, {elem, 1}};
  put_seg(w, "CTX", els, sizeof els / sizeof els[0]);
}

static int same_ik3(const ohets__ack_error *a, const ohets__ack_error *b) {
  return strcmp(a->seg_id, b->seg_id) == 0 && a->seg_pos == b->seg_pos &&
         strcmp(a->loop, b->loop) == 0 && strcmp(a->ik304, b->ik304) == 0 &&
         a->elem_pos > 0 && b->elem_pos > 0;
}

static void write_error(ohets__w *w, const ohets__ack_error *e,
                        const ohets__ack_error *prev) {
  /* Element errors of one segment share its IK3. */
  if (prev == NULL || !same_ik3(prev, e)) {
    char pos[12], loop[5];
    snprintf(pos, sizeof pos, "%u", (unsigned)e->seg_pos);
    loop_id(loop, e->loop);
    el els[] = {{e->seg_id, 0}, {pos, 1}, {loop, 0}, {e->ik304, 0}};
    put_seg(w, "IK3", els, 4);
    if (e->elem_pos == 0 && e->ctx_seg[0] != '\0')
      write_ctx(w, e); /* segment context */
  }
  if (e->elem_pos == 0)
    return;
  char pos[40], ref[8] = "";
  composite(pos, sizeof pos, w->d.component, e->elem_pos, e->comp_pos,
            e->rep_pos);
  if (e->elem_ref > 0)
    snprintf(ref, sizeof ref, "%u", (unsigned)e->elem_ref);
  el els[] = {{pos, 1}, {ref, 1}, {e->ik403, 0}, {e->bad, 0}};
  put_seg(w, "IK4", els, 4);
  if (e->ctx_seg[0] != '\0')
    write_ctx(w, e); /* element context */
}

void ohets__write_999(ohets__w *w, const ohets__ack *ack, uint32_t st_control) {
  char ctl[12];
  snprintf(ctl, sizeof ctl, "%04u", (unsigned)st_control);
  unsigned start = w->count;
  el st[] = {{"999", 0}, {ctl, 0}, {"005010X231A1", 0}};
  put_seg(w, "ST", st, 3);
  el ak1[] = {{ack->gs01, 0}, {ack->gs06, 0}, {ack->gs08, 0}};
  put_seg(w, "AK1", ak1, 3);

  unsigned n_set = ack->n_set < OHETS__MAX_ACK_SETS ? ack->n_set
                                                    : OHETS__MAX_ACK_SETS;
  for (unsigned i = 0; i < n_set; i++) {
    const ohets__ack_set *s = &ack->set[i];
    el ak2[] = {{s->st01, 0}, {s->st02, 0}, {s->st03, 0}};
    put_seg(w, "AK2", ak2, 3);
    unsigned n_err = s->n_err < OHETS__MAX_ACK_ERRORS ? s->n_err
                                                      : OHETS__MAX_ACK_ERRORS;
    for (unsigned k = 0; k < n_err; k++)
      write_error(w, &s->err[k], k > 0 ? &s->err[k - 1] : NULL);
    el ik5[6] = {{s->ik501 == 'A' ? "A" : "R", 0}};
    unsigned n502 = s->n_ik502 < 5 ? s->n_ik502 : 5;
    for (unsigned k = 0; k < n502; k++)
      ik5[k + 1] = (el){s->ik502[k], 0};
    put_seg(w, "IK5", ik5, 1 + n502);
  }

  char c902[12], c903[12], c904[12];
  snprintf(c902, sizeof c902, "%u", ack->ak902);
  snprintf(c903, sizeof c903, "%u", ack->ak903);
  snprintf(c904, sizeof c904, "%u", ack->ak904);
  char code[2] = {ack->ak901 == 'A' || ack->ak901 == 'P' ? ack->ak901 : 'R',
                  '\0'};
  el ak9[9] = {{code, 0}, {c902, 1}, {c903, 1}, {c904, 1}};
  unsigned n905 = ack->n_ak905 < 5 ? ack->n_ak905 : 5;
  for (unsigned k = 0; k < n905; k++)
    ak9[4 + k] = (el){ack->ak905[k], 0};
  put_seg(w, "AK9", ak9, 4 + n905);

  char count[12];
  snprintf(count, sizeof count, "%u", w->count - start + 1);
  el se[] = {{count, 1}, {ctl, 0}};
  put_seg(w, "SE", se, 2);
}
