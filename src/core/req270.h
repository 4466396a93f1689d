/* Private: the pipeline stages after the reader.
 *
 *   envelope.c    ISA/IEA checks -> TA1 code; fills ohets__env
 *   validate270.c GS/ST/270 body to 005010X279A1 -> ohets__ack (999) or ohets__270
 *   ack999.c      writes the 999 transaction set from an ohets__ack
 *   ta1.c         writes the TA1 answer interchange
 *   checks.c      request checks of DESIGN §5 -> AAA codes per loop
 *   write271.c    the 271 transaction set
 *   respond.c     ties them together (ohets_respond)
 */
#ifndef OHETS_CORE_REQ270_H
#define OHETS_CORE_REQ270_H

#include <stddef.h>
#include <string.h>

#include "x12.h"

/* ------------------------------------------------------------------ */
/* Envelope (ISA / IEA).                                               */

/* Checks the ISA fields and the IEA, fills env (whatever could be read,
 * even on error).  Returns NULL when the envelope is good, else the TA105
 * code ("001", "008", "017", "022", "023", "024", ...).  GS/GE, ST/SE are
 * not looked at here except to find the IEA. */
const char *ohets__envelope_check(const ohets__x12 *x, ohets__env *env);

/* Writes the whole TA1 answer interchange (ISA, TA1*..*R*code, IEA). */
int ohets__write_ta1(ohets_buf *out, const ohets__env *env, const char *code,
                     const ohets_request_ctx *ctx);

/* ------------------------------------------------------------------ */
/* A valid 270, the fields the rest of the pipeline needs.             */

#define OHETS__MAX_TRN 2
#define OHETS__MAX_STC 99

typedef struct ohets__trn {
  char type[3];   /* TRN01 */
  char ref[51];   /* TRN02 */
  char orig[11];  /* TRN03 */
  char supp[51];  /* TRN04 */
} ohets__trn;

typedef struct ohets__270 {
  char st02[10];
  char bht03[51];      /* submitter's reference, echoed in BHT03 of the 271 */
  /* 2100A information source */
  char payer_name[61]; /* NM103 */
  char payer_qual[3];  /* NM108 */
  char payer_id[81];   /* NM109 */
  /* 2100B information receiver */
  char prov_entity[4]; /* NM101 (1P, FA, ...) */
  char prov_type[2];   /* NM102 */
  char prov_last[61];  /* NM103 */
  char prov_first[36]; /* NM104 */
  char prov_qual[3];   /* NM108 (XX = NPI) */
  char prov_id[81];    /* NM109 */
  /* 2000C / 2100C subscriber */
  ohets__trn trn[OHETS__MAX_TRN];
  unsigned n_trn;
  char sub_qual[3];    /* NM108 (MI) */
  char sub_id[81];     /* NM109: the MBI as sent (PHI) */
  char sub_last[61];   /* NM103 (PHI) */
  char sub_first[36];  /* NM104 (PHI) */
  char sub_middle[26]; /* NM105 */
  char sub_suffix[11]; /* NM107 */
  int has_dmg;
  char dob[36];        /* DMG02 as sent, when DMG01 = D8 (PHI) */
  char sex;            /* DMG03 or 0 */
  int has_dos;         /* DTP*291 present (2100C or 2110C) */
  char dos_fmt[4];     /* D8 or RD8 */
  char dos[36];        /* DTP03 as sent */
  /* 2110C eligibility or benefit inquiry */
  char stc[OHETS__MAX_STC][3]; /* EQ01 service type codes, in order */
  unsigned n_stc;
} ohets__270;

/* ------------------------------------------------------------------ */
/* 999 content.                                                        */

#define OHETS__MAX_ACK_ERRORS 20
#define OHETS__MAX_ACK_SETS 20

typedef struct ohets__ack_error {
  /* IK3 */
  char seg_id[4];       /* IK301 */
  uint32_t seg_pos;     /* IK302: position from ST (ST = 1) */
  char loop[7];         /* IK303, "" when not in a loop */
  char ik304[3];        /* segment syntax error code, "8" when only elements */
  /* IK4, when elem_pos > 0 */
  uint16_t elem_pos;    /* IK401-1 */
  uint16_t comp_pos;    /* IK401-2, 0 = none */
  uint16_t rep_pos;     /* IK401-3, 0 = none */
  uint16_t elem_ref;    /* IK402 data element reference number, 0 = none */
  char ik403[4];        /* element syntax error code */
  char bad[100];        /* IK404 copy of the bad value, "" when none */
  /* CTX (situational trigger), "" when none */
  char ctx_seg[4];      /* segment id of the trigger */
  uint32_t ctx_pos;     /* its position */
  char ctx_loop[7];
  uint16_t ctx_elem;    /* its element position, 0 = none */
} ohets__ack_error;

typedef struct ohets__ack_set {  /* one AK2 ... IK5 */
  char st01[4];
  char st02[10];
  char st03[36];                 /* AK203 when present */
  char ik501;                    /* 'A' or 'R' */
  char ik502[5][4];              /* transaction set syntax error codes */
  unsigned n_ik502;
  ohets__ack_error err[OHETS__MAX_ACK_ERRORS];
  unsigned n_err;
} ohets__ack_set;

typedef struct ohets__ack {
  char gs01[3];                  /* AK101 */
  char gs06[10];                 /* AK102 */
  char gs08[13];                 /* AK103 */
  ohets__ack_set set[OHETS__MAX_ACK_SETS];
  unsigned n_set;
  char ak901;                    /* 'A', 'P' or 'R' */
  unsigned ak902, ak903, ak904;  /* included, received, accepted */
  char ak905[5][4];              /* functional group syntax error codes */
  unsigned n_ak905;
} ohets__ack;

/* Empties an ack without touching its sets' contents (60 KiB that every
 * set and error entry clears as it is filled): zeroing the whole struct
 * was a quarter of the core's instructions per answer. */
static inline void ohets__ack_clear(ohets__ack *a) {
  memset(a, 0, offsetof(ohets__ack, set));
  memset(&a->n_set, 0, sizeof *a - offsetof(ohets__ack, n_set));
}

/* Validates GS..GE and the 270 inside.  Returns 0 when the interchange
 * holds exactly one accepted 270 (req filled, ack untouched), 1 when a 999
 * must answer (ack filled), or a negative errno. */
int ohets__validate_270(const ohets__x12 *x, const ohets__env *env,
                        ohets__270 *req, ohets__ack *ack);

/* Writes ST*999 .. SE (not the envelope). */
void ohets__write_999(ohets__w *w, const ohets__ack *ack, uint32_t st_control);

/* ------------------------------------------------------------------ */
/* Request checks (DESIGN §5) and the 271.                             */

typedef struct ohets__aaa {
  char loop[6];  /* "2000A", "2100A", "2100B", "2100C" */
  char valid;    /* AAA01: 'Y' or 'N' */
  char code[3];  /* AAA03 */
  char action;   /* AAA04: 'C', 'N', 'R', ... */
} ohets__aaa;

typedef struct ohets__verdict {
  ohets__aaa aaa[OHETS_MAX_AAA];
  unsigned n_aaa;
  int found; /* 1: matched; rec holds the beneficiary, benefits to write */
  ohets_date from, to; /* the service dates asked (today when none) */
} ohets__verdict;

/* Runs the §5 checks and the lookup; fills v (and rec when found). */
void ohets__check_request(const ohets__270 *req, const ohets__env *env,
                          const ohets_request_ctx *ctx, ohets_beneficiary *rec,
                          ohets__verdict *v);

/* Writes ST*271 .. SE (not the envelope).  amounts may be NULL (not on
 * file for that year). */
void ohets__write_271(ohets__w *w, const ohets__270 *req, const ohets__env *env,
                      const ohets__verdict *v, const ohets_beneficiary *rec,
                      const ohets_program_amounts *amounts,
                      const ohets_request_ctx *ctx, uint32_t st_control);

#endif
