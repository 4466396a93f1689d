/* ohets_respond: one request payload in, one answer payload out.
 *
 * The stages run in the order of the decision table (DESIGN §3.1); the
 * first stage that has something to say writes the answer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "req270.h"

/* Answers can't be larger than this (a 271 for a full record is ~3 KiB). */
#define RESPOND_MAX_ANSWER (1024 * 1024)

const char *ohets_answer_name(ohets_answer a) {
  switch (a) {
  case OHETS_ANSWER_271: return "271";
  case OHETS_ANSWER_999: return "999";
  case OHETS_ANSWER_TA1: return "TA1";
  case OHETS_ANSWER_HETS: return "HETS";
  }
  return "?";
}

/* Copies the request's ISA13 if it can be read, for the HETS trace. */
static void trace_from_request(const uint8_t *req, size_t len, char *dst) {
  dst[0] = '\0';
  if (len >= 99 && memcmp(req, "ISA", 3) == 0) {
    memcpy(dst, req + 90, 9);
    dst[9] = '\0';
    for (int i = 0; i < 9; i++)
      if (dst[i] < '0' || dst[i] > '9') {
        dst[0] = '\0';
        break;
      }
  }
}

static int answer_hets(ohets_buf *out, ohets_outcome *o, const char *code,
                       const char *trace, const ohets_request_ctx *ctx) {
  o->answer = OHETS_ANSWER_HETS;
  ohets__copy(o->hets_code, sizeof o->hets_code, code);
  return ohets_hets_error_write(out, code, trace[0] ? trace : NULL, &ctx->now);
}

/* The HETS code for a payload the reader refused, NULL for any other
 * result of ohets__x12_parse. */
static const char *unreadable_code(int parse_rc) {
  if (parse_rc == -EINVAL)
    return "HTS00004"; /* no readable ISA */
  if (parse_rc == -E2BIG)
    return "HTS00002"; /* more segments than any single 270 could hold */
  return NULL;
}

/* Everything a request needs besides the input and output; heap-allocated
 * once per call because the parsed request and the record are large. */
typedef struct respond_work {
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  ohets__ack ack;
  ohets__verdict verdict;
  ohets_beneficiary rec;
  ohets_program_amounts amounts;
} respond_work;

static int answer_999(ohets_buf *out, respond_work *k,
                      const ohets_request_ctx *ctx, ohets_outcome *o) {
  ohets__w w;
  ohets__w_init(&w, out, k->env.d);
  ohets__w_isa(&w, &k->env, ctx, k->env.isa14 == '1');
  ohets__w_gs(&w, &k->env, ctx, "FA", "005010X231A1");
  ohets__write_999(&w, &k->ack, 1);
  ohets__w_ge(&w, 1, ctx);
  ohets__w_iea(&w, 1, ctx);
  o->answer = OHETS_ANSWER_999;
  o->ack_code = k->ack.ak901;
  return w.err;
}

static int answer_271(ohets_buf *out, respond_work *k,
                      const ohets_request_ctx *ctx, ohets_outcome *o) {
  ohets__check_request(&k->req, &k->env, ctx, &k->rec, &k->verdict);
  const ohets_program_amounts *amounts = NULL;
  if (k->verdict.found && ctx->lookup->amounts != NULL &&
      ctx->lookup->amounts(ctx->lookup->ctx, k->verdict.from.year,
                           &k->amounts) == 0)
    amounts = &k->amounts;
  ohets__w w;
  ohets__w_init(&w, out, k->env.d);
  ohets__w_isa(&w, &k->env, ctx, k->env.isa14 == '1');
  ohets__w_gs(&w, &k->env, ctx, "HB", "005010X279A1");
  ohets__write_271(&w, &k->req, &k->env, &k->verdict,
                   k->verdict.found ? &k->rec : NULL, amounts, ctx, 1);
  ohets__w_ge(&w, 1, ctx);
  ohets__w_iea(&w, 1, ctx);
  o->answer = OHETS_ANSWER_271;
  o->found = k->verdict.found;
  for (unsigned i = 0; i < k->verdict.n_aaa && o->n_aaa < OHETS_MAX_AAA; i++)
    memcpy(o->aaa[o->n_aaa++], k->verdict.aaa[i].code, 3);
  ohets__copy(o->mbi, sizeof o->mbi, k->req.sub_id); /* 11 at most */
  return w.err;
}

int ohets_respond(const uint8_t *req, size_t len, const ohets_request_ctx *ctx,
                  ohets_buf *out, ohets_outcome *o) {
  memset(o, 0, sizeof *o);
  size_t mark = out->len;
  char trace[10];
  trace_from_request(req, len, trace);
  ohets__copy(o->isa13, sizeof o->isa13, trace);

  respond_work *k = ohets__malloc(sizeof *k);
  if (k == NULL)
    return -ENOMEM;
  /* Everything but the ack's sets, which are cleared as they are used. */
  memset(k, 0, offsetof(respond_work, ack));
  ohets__ack_clear(&k->ack);
  memset(&k->verdict, 0, sizeof *k - offsetof(respond_work, verdict));
  int rc = ohets__x12_parse(&k->x, (const char *)req, len);
  const char *unreadable = unreadable_code(rc);
  if (unreadable != NULL) {
    rc = answer_hets(out, o, unreadable, trace, ctx);
    goto done;
  }
  if (rc != 0)
    goto done;

  const char *ta1 = ohets__envelope_check(&k->x, &k->env);
  ohets__copy(o->submitter, sizeof o->submitter, k->env.isa06);
  if (ta1 != NULL) {
    o->answer = OHETS_ANSWER_TA1;
    ohets__copy(o->ta1_code, sizeof o->ta1_code, ta1);
    rc = ohets__write_ta1(out, &k->env, ta1, ctx);
    goto done;
  }
  if (k->env.isa14 == '1')
    memcpy(o->ta1_code, "000", 4);

  if (ctx->partners != NULL &&
      !ctx->partners->submitter_allowed(ctx->partners->ctx, k->env.isa06)) {
    rc = answer_hets(out, o, "SBY00502", trace, ctx);
    goto done;
  }

  rc = ohets__validate_270(&k->x, &k->env, &k->req, &k->ack);
  if (rc < 0)
    goto done;
  ohets__copy(o->st02, sizeof o->st02,
              rc == 0 ? k->req.st02 : (k->ack.n_set ? k->ack.set[0].st02 : ""));
  rc = rc == 1 ? answer_999(out, k, ctx, o) : answer_271(out, k, ctx, o);

done:
  if (rc != 0)
    out->len = mark; /* never hand back half an answer */
  ohets__x12_free(&k->x);
  ohets__free(k);
  return rc;
}

/* ------------------------------------------------------------------ */
/* ohets_validate_270: the stages above up to the 999, nothing looked   */
/* up.                                                                  */

typedef struct validate_work {
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  ohets__ack ack;
} validate_work;

/* Counts the 999's errors and copies the first one out. */
static void summarize_ack(const ohets__ack *ack, ohets_validation *out) {
  out->ack_code = ack->ak901;
  for (unsigned i = 0; i < ack->n_set; i++) {
    for (unsigned j = 0; j < ack->set[i].n_err; j++) {
      const ohets__ack_error *e = &ack->set[i].err[j];
      if (out->n_errors++ > 0)
        continue;
      ohets_ack_error *f = &out->first;
      ohets__copy(f->segment, sizeof f->segment, e->seg_id);
      f->position = e->seg_pos;
      ohets__copy(f->loop, sizeof f->loop, e->loop);
      ohets__copy(f->segment_code, sizeof f->segment_code, e->ik304);
      f->element = e->elem_pos;
      if (e->elem_pos > 0)
        ohets__copy(f->element_code, sizeof f->element_code, e->ik403);
    }
  }
}

int ohets_validate_270(const uint8_t *req, size_t len, ohets_validation *out) {
  memset(out, 0, sizeof *out);
  validate_work *k = ohets__malloc(sizeof *k);
  if (k == NULL)
    return -ENOMEM;
  memset(k, 0, offsetof(validate_work, ack));
  ohets__ack_clear(&k->ack);
  int rc = ohets__x12_parse(&k->x, (const char *)req, len);
  const char *unreadable = unreadable_code(rc);
  if (unreadable != NULL) {
    out->answer = OHETS_ANSWER_HETS;
    ohets__copy(out->hets_code, sizeof out->hets_code, unreadable);
    rc = 0;
    goto done;
  }
  if (rc != 0)
    goto done;
  const char *ta1 = ohets__envelope_check(&k->x, &k->env);
  if (ta1 != NULL) {
    out->answer = OHETS_ANSWER_TA1;
    ohets__copy(out->ta1_code, sizeof out->ta1_code, ta1);
    goto done;
  }
  rc = ohets__validate_270(&k->x, &k->env, &k->req, &k->ack);
  if (rc < 0)
    goto done;
  out->answer = rc == 1 ? OHETS_ANSWER_999 : OHETS_ANSWER_271;
  if (rc == 1)
    summarize_ack(&k->ack, out);
  rc = 0;
done:
  ohets__x12_free(&k->x);
  ohets__free(k);
  return rc;
}
