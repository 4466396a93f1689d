/* libopenhets: the pure core of openhets.
 *
 * Request bytes + a lookup interface + "now" -> response bytes + an outcome
 * record.  Nothing here opens a socket, starts a thread, touches a file or
 * reads the clock: the caller owns all of that and passes "now" in.
 *
 * Functions return 0 or a negative errno value unless they say otherwise.
 *
 * Only what this header declares is exported: the library is built with
 * hidden visibility and its internal (ohets__) symbols are made local in
 * the installed archive.
 */
#ifndef OPENHETS_OPENHETS_H
#define OPENHETS_OPENHETS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OHETS_VERSION_STRING "0.1.0"

/* Marks the public API: the library's objects are compiled with
 * -fvisibility=hidden, so everything not marked stays inside it. */
#ifndef OHETS_EXTERN
#define OHETS_EXTERN __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------ */
/* Allocation.  Every allocation the core makes goes through these, so a
 * caller (or a test that fails each allocation in turn) can replace them.
 * Set once, before any other call and before threads start. */
typedef void *(*ohets_malloc_fn)(size_t size);
typedef void *(*ohets_realloc_fn)(void *ptr, size_t size);
typedef void (*ohets_free_fn)(void *ptr);
OHETS_EXTERN void ohets_set_alloc_funcs(ohets_malloc_fn m, ohets_realloc_fn r,
                                       ohets_free_fn f);

/* ------------------------------------------------------------------ */
/* Output buffer: grows up to a bound, never past it.                  */

typedef struct ohets_buf {
  uint8_t *data; /* heap bytes, not NUL-terminated unless said so */
  size_t len;    /* bytes in use */
  size_t cap;    /* bytes allocated */
  size_t max;    /* hard bound; appends past it fail with -ENOBUFS */
} ohets_buf;

OHETS_EXTERN void ohets_buf_init(ohets_buf *b, size_t max);
OHETS_EXTERN void ohets_buf_free(ohets_buf *b);
OHETS_EXTERN void ohets_buf_reset(ohets_buf *b); /* len = 0, keeps the allocation */
OHETS_EXTERN int ohets_buf_append(ohets_buf *b, const void *p, size_t n);
OHETS_EXTERN int ohets_buf_puts(ohets_buf *b, const char *s);
OHETS_EXTERN int ohets_buf_putc(ohets_buf *b, char c);
OHETS_EXTERN int ohets_buf_printf(ohets_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* v in decimal, zero-padded to at least width digits (at most 20),
 * NUL-terminated; returns the number of digits written.  dst holds 21
 * bytes, or width + 1 when v < 10^width is known.  No printf and no locale:
 * the core writes an answer's numbers with it, the server its log's. */
OHETS_EXTERN size_t ohets_dec_write(char *dst, uint64_t v, unsigned width);

/* ------------------------------------------------------------------ */
/* Dates and "now".                                                    */

typedef struct ohets_date {
  int16_t year; /* 0: no date (absent / open-ended) */
  uint8_t month;
  uint8_t day;
} ohets_date;

typedef struct ohets_now {
  ohets_date date; /* the transaction date */
  uint8_t hour, minute, second;
  uint16_t millisecond;
} ohets_now;

/* Parses CCYYMMDD (8 digits, a real calendar date). 0 or -EINVAL. */
OHETS_EXTERN int ohets_date_parse_d8(const char *s, size_t n, ohets_date *out);
/* Parses YYYY-MM-DD. 0 or -EINVAL. */
OHETS_EXTERN int ohets_date_parse_iso(const char *s, size_t n, ohets_date *out);
OHETS_EXTERN int ohets_date_valid(ohets_date d);
OHETS_EXTERN int ohets_date_cmp(ohets_date a, ohets_date b);
/* Adds (or subtracts) whole months, clamping the day to the month's end. */
OHETS_EXTERN ohets_date ohets_date_add_months(ohets_date d, int months);

/* ------------------------------------------------------------------ */
/* Transmission wrapper: SOH, 10-digit length, STX, payload, ETX.      */

#define OHETS_FRAME_SOH 0x01
#define OHETS_FRAME_STX 0x02
#define OHETS_FRAME_ETX 0x03
#define OHETS_FRAME_OVERHEAD 13 /* SOH + 10 + STX + ETX */

typedef enum ohets_framing {
  OHETS_FRAMING_HETS = 0, /* wrapped */
  OHETS_FRAMING_RAW,      /* bare X12 ending at the IEA's terminator */
  OHETS_FRAMING_AUTO      /* decided by the first byte: 0x01 wrapped, 'I' raw */
} ohets_framing;

typedef enum ohets_frame_status {
  OHETS_FRAME_NEED_MORE = 0, /* no whole frame yet; call again with more bytes */
  OHETS_FRAME_READY = 1,     /* *out describes one whole frame */
  OHETS_FRAME_ERROR = -1     /* out->error names the HETS code; close after answering */
} ohets_frame_status;

typedef struct ohets_frame {
  size_t payload_off; /* offset of the payload within the bytes given */
  size_t payload_len;
  size_t frame_len;   /* bytes to consume from the start of the buffer */
  int raw;            /* 1 when the frame was bare X12 (answer raw too) */
  const char *error;  /* on OHETS_FRAME_ERROR: "HTS00001" or "HTS00002" */
} ohets_frame;

/* Incremental decoder.  The caller keeps the unconsumed bytes of one
 * connection in one contiguous buffer, appends what it reads, and calls
 * ohets_frame_next() with the whole buffer; after a READY it drops
 * frame_len bytes from the front and calls again (several frames may sit in
 * one read).  The decoder remembers how far it looked, so a byte-by-byte
 * trickle costs O(n) overall. */
typedef struct ohets_frame_decoder {
  ohets_framing mode;   /* as configured; AUTO resolves per frame */
  size_t max_frame;     /* largest payload accepted */
  size_t scanned;       /* bytes already examined of the current frame */
  int raw;              /* current frame resolved as raw */
  int resolved;         /* mode of the current frame decided */
  char segterm;         /* raw: segment terminator read from the ISA */
  char elemsep;         /* raw: element separator read from the ISA */
  /* Added by the frame codec: */
  size_t start;         /* offset of the current frame's first byte (raw
                           and auto skip blanks between raw frames) */
  int seg_state;        /* raw: how far the current segment matches "IEA" */
  int after_raw;        /* auto: the previous frame was raw */
} ohets_frame_decoder;

OHETS_EXTERN void ohets_frame_decoder_init(ohets_frame_decoder *d,
                                           ohets_framing mode, size_t max_frame);
OHETS_EXTERN ohets_frame_status ohets_frame_next(ohets_frame_decoder *d,
                                                 const uint8_t *buf, size_t len,
                                                 ohets_frame *out);
/* Appends SOH, length, STX, payload, ETX to out. */
OHETS_EXTERN int ohets_frame_wrap(ohets_buf *out, const uint8_t *payload, size_t len);

/* What the server may read of a request before the core runs it (for a
 * partner's connection limit): the sender (ISA06, trailing blanks dropped)
 * and the interchange control number (ISA13; "" unless 9 digits). */
typedef struct ohets_isa_ids {
  char sender[16];
  char control[10];
} ohets_isa_ids;

/* 0 when ISA06 can be found at the start of p (out filled; the rest of
 * the ISA is not judged here), -EINVAL otherwise. */
OHETS_EXTERN int ohets_isa_peek(const uint8_t *p, size_t n, ohets_isa_ids *out);

/* ------------------------------------------------------------------ */
/* HETS proprietary error record (DESIGN §3.2).                        */

/* Plain-English text of a HETS error code, or NULL when unknown. */
OHETS_EXTERN const char *ohets_hets_error_text(const char *code);
/* Writes the fixed-position record.  trace may be NULL (blanks). */
OHETS_EXTERN int ohets_hets_error_write(ohets_buf *out, const char *code,
                                        const char *trace, const ohets_now *now);

/* ------------------------------------------------------------------ */
/* Identifier checks.                                                  */

/* 1 when s (n bytes) has the MBI shape of DESIGN §5, else 0. */
OHETS_EXTERN int ohets_mbi_valid(const char *s, size_t n);
/* 1 when s is 10 digits with a good check digit (Luhn over 80840+NPI). */
OHETS_EXTERN int ohets_npi_valid(const char *s, size_t n);
/* 1 when two names are equal ignoring case, spaces, - ' and . */
OHETS_EXTERN int ohets_name_equal(const char *a, size_t an, const char *b, size_t bn);

/* ------------------------------------------------------------------ */
/* Beneficiary record: what the store hands the core.  Fixed capacity  */
/* so a lookup fills it without allocating.  Strings NUL-terminated.   */

#define OHETS_MAX_PERIODS 8
#define OHETS_MAX_PLANS 8
#define OHETS_MAX_PREVENTIVE 16
#define OHETS_MAX_DEDUCTIBLES 8

typedef struct ohets_period {
  ohets_date start;
  ohets_date end; /* year 0: open-ended */
} ohets_period;

typedef struct ohets_plan { /* Medicare Advantage or Part D */
  char contract[8];         /* H1234 / S5678 */
  char plan[8];             /* 001 */
  char type[4];             /* MA insurance type code: HM, HN, PR, ... ; Part D: "" */
  char name[61];
  char phone[21];
  ohets_period period;
} ohets_plan;

typedef struct ohets_msp {
  char type[4];   /* MSP insurance type code (12, 13, 14, 15, 16, 41, 42, 43, 47) */
  char payer[61];
  char policy[31];
  ohets_period period;
} ohets_msp;

typedef struct ohets_provider_period { /* hospice, home health */
  ohets_period period;
  char npi[11];
  char name[61];
} ohets_provider_period;

typedef struct ohets_preventive {
  char hcpcs[8];
  ohets_date next_eligible;
} ohets_preventive;

typedef struct ohets_deductible { /* per beneficiary, per year */
  int year;
  int64_t part_a_remaining_cents; /* -1: not on file */
  int64_t part_b_remaining_cents; /* -1: not on file */
} ohets_deductible;

typedef struct ohets_beneficiary {
  char mbi[12];
  char last[61];
  char first[36];
  char middle[26];
  char sex; /* 'F', 'M', 'U' or 0 */
  ohets_date dob;
  ohets_date dod; /* year 0: living */
  struct {
    char line1[56];
    char line2[56];
    char city[31];
    char state[3];
    char zip[16];
  } address;
  ohets_period part_a[OHETS_MAX_PERIODS];
  unsigned n_part_a;
  ohets_period part_b[OHETS_MAX_PERIODS];
  unsigned n_part_b;
  ohets_plan ma[OHETS_MAX_PLANS];
  unsigned n_ma;
  ohets_plan part_d[OHETS_MAX_PLANS];
  unsigned n_part_d;
  ohets_msp msp[OHETS_MAX_PLANS];
  unsigned n_msp;
  ohets_provider_period hospice[OHETS_MAX_PERIODS];
  unsigned n_hospice;
  ohets_provider_period home_health[OHETS_MAX_PERIODS];
  unsigned n_home_health;
  ohets_period esrd[OHETS_MAX_PERIODS];
  unsigned n_esrd;
  ohets_period qmb[OHETS_MAX_PERIODS];
  unsigned n_qmb;
  ohets_preventive preventive[OHETS_MAX_PREVENTIVE];
  unsigned n_preventive;
  ohets_deductible deductibles[OHETS_MAX_DEDUCTIBLES];
  unsigned n_deductibles;
  /* Benefit-period days remaining in the current benefit period; -1: not on file. */
  int hospital_days;
  int snf_days;
  int lifetime_reserve_days;
} ohets_beneficiary;

/* Program amounts for one calendar year (store table keyed by year). */
typedef struct ohets_program_amounts {
  int year;
  int64_t part_a_deductible_cents;   /* per benefit period */
  int64_t part_b_deductible_cents;   /* per calendar year */
  int part_b_coinsurance_percent;    /* 20 */
  int64_t hospital_coinsurance_day61_cents;   /* days 61-90, per day */
  int64_t lifetime_reserve_coinsurance_cents; /* days 91-150, per day */
  int64_t snf_coinsurance_day21_cents;        /* days 21-100, per day */
} ohets_program_amounts;

typedef enum ohets_lookup_status {
  OHETS_LOOKUP_FOUND = 0,
  OHETS_LOOKUP_NOT_FOUND,
  OHETS_LOOKUP_RETIRED,    /* the MBI was replaced by another: AAA 72 */
  OHETS_LOOKUP_UNAVAILABLE /* store down: AAA 42 */
} ohets_lookup_status;

/* What the core asks of the eligibility store.  Called from the thread
 * running ohets_respond(); ctx is the caller's (one store handle per
 * thread). */
typedef struct ohets_lookup {
  ohets_lookup_status (*beneficiary)(void *ctx, const char *mbi,
                                     ohets_beneficiary *out);
  /* 0 found, -ENOENT no row for that year, other negative: unavailable. */
  int (*amounts)(void *ctx, int year, ohets_program_amounts *out);
  void *ctx;
} ohets_lookup;

/* Trading-partner rules (DESIGN §4).  A NULL table allows everyone. */
typedef struct ohets_partners {
  /* 1: this submitter may send here (ID known, peer network and listener
   * allowed); 0: answer SBY00502. */
  int (*submitter_allowed)(void *ctx, const char *submitter);
  /* 1: NPI linked to the submitter, or the submitter lists no NPIs. */
  int (*npi_linked)(void *ctx, const char *submitter, const char *npi);
  void *ctx;
} ohets_partners;

/* ------------------------------------------------------------------ */
/* The heart: one request in, one answer out.                          */

typedef enum ohets_answer {
  OHETS_ANSWER_271 = 0,
  OHETS_ANSWER_999,
  OHETS_ANSWER_TA1,
  OHETS_ANSWER_HETS
} ohets_answer;

OHETS_EXTERN const char *ohets_answer_name(ohets_answer a); /* "271", "999", "TA1", "HETS" */

#define OHETS_MAX_AAA 32

typedef struct ohets_request_ctx {
  const ohets_lookup *lookup;     /* required */
  const ohets_partners *partners; /* NULL: everyone allowed */
  ohets_now now;                  /* the transaction date and time */
  uint32_t control_number;        /* ISA13/GS06 of the answer (1..999999999) */
  int overloaded;                 /* 1: answer AAA 42 without a lookup */
} ohets_request_ctx;

typedef struct ohets_outcome {
  ohets_answer answer;
  char hets_code[9];    /* HETS error code when answer == HETS */
  char ta1_code[4];     /* TA105 when a TA1 was written ("000" accepted) */
  char ack_code;        /* AK901 of a 999: 'A', 'P' or 'R'; 0 otherwise */
  char submitter[16];   /* ISA06, trimmed, when readable */
  char isa13[10];       /* request's interchange control number */
  char st02[10];        /* request's transaction set control number */
  unsigned n_aaa;       /* AAA reject reason codes written in the 271 */
  char aaa[OHETS_MAX_AAA][3];
  int found;            /* 1: beneficiary matched and benefits written */
  char mbi[12];         /* PHI: for keyed-hash correlation only; never log */
} ohets_outcome;

/* Answers one payload (an X12 interchange).  Writes the answer payload (no
 * wrapper) to out and fills outcome.  Returns 0 whenever an answer was
 * written, whatever its kind; a negative errno only when none could be
 * (-ENOMEM, -ENOBUFS). */
OHETS_EXTERN int ohets_respond(const uint8_t *req, size_t len,
                               const ohets_request_ctx *ctx, ohets_buf *out,
                               ohets_outcome *outcome);

/* ------------------------------------------------------------------ */
/* Checking a 270 without answering it: the structural stages of       */
/* ohets_respond (reader, envelope, 005010X279A1 validation), no       */
/* lookup, no partner rules, no request checks of DESIGN §5.           */

/* One error a 999 reports: its IK3 and, when element > 0, its IK4. */
typedef struct ohets_ack_error {
  char segment[4];      /* IK301: segment ID */
  uint32_t position;    /* IK302: position in the set (ST = 1) */
  char loop[7];         /* IK303: loop ID, "" outside a loop */
  char segment_code[4]; /* IK304: segment syntax error code */
  unsigned element;     /* IK401-1: element position, 0 when none */
  char element_code[4]; /* IK403: element syntax error code, "" when none */
} ohets_ack_error;

typedef struct ohets_validation {
  /* What ohets_respond would answer on these grounds: OHETS_ANSWER_271
   * when the interchange is one valid 270; HETS when no readable ISA
   * (hets_code); TA1 for an envelope error (ta1_code); 999 otherwise. */
  ohets_answer answer;
  char hets_code[9];
  char ta1_code[4];
  char ack_code;         /* AK901 of the 999: 'A', 'P' or 'R'; 0 otherwise */
  unsigned n_errors;     /* errors (IK3) the 999 reports, all sets */
  ohets_ack_error first; /* the first of them, when n_errors > 0 */
} ohets_validation;

/* Checks one payload as ohets_respond would before it looks anything up.
 * 0 with *out filled (whatever the verdict), or -ENOMEM. */
OHETS_EXTERN int ohets_validate_270(const uint8_t *req, size_t len,
                                    ohets_validation *out);

/* ------------------------------------------------------------------ */
/* Reading X12: an interchange split into segments and elements, for   */
/* tools that decode answers.  Views only: the bytes given must        */
/* outlive the document.                                               */

typedef struct ohets_x12_doc ohets_x12_doc;

typedef struct ohets_x12_delims {
  char element;    /* ISA byte 3 */
  char repetition; /* ISA11 */
  char component;  /* ISA16 */
  char segment;    /* ISA byte 105 */
} ohets_x12_delims;

/* Reads p (a 106-byte ISA first; CR and LF after a terminator skipped).
 * 0, -EINVAL (no readable ISA), -E2BIG (too many segments or elements),
 * -ENOMEM. */
OHETS_EXTERN int ohets_x12_read(const char *p, size_t n, ohets_x12_doc **out);
OHETS_EXTERN void ohets_x12_doc_free(ohets_x12_doc *x);
OHETS_EXTERN ohets_x12_delims ohets_x12_delims_of(const ohets_x12_doc *x);
/* Number of segments, the ISA included. */
OHETS_EXTERN size_t ohets_x12_segments(const ohets_x12_doc *x);
/* Element i (0 = the segment ID) of segment seg (0 = the ISA); absent
 * reads as empty.  Its bytes (not NUL-terminated), *len set. */
OHETS_EXTERN const char *ohets_x12_element(const ohets_x12_doc *x, size_t seg,
                                           unsigned i, size_t *len);
/* 1 when that element equals v exactly (i = 0: the segment is a v). */
OHETS_EXTERN int ohets_x12_element_is(const ohets_x12_doc *x, size_t seg,
                                      unsigned i, const char *v);
/* Copies that element into dst (size dstsz > 0, NUL-terminated,
 * truncated to fit); returns the element's whole length. */
OHETS_EXTERN size_t ohets_x12_element_copy(const ohets_x12_doc *x, size_t seg,
                                           unsigned i, char *dst, size_t dstsz);
/* Sub-field k (0-based) of p[0..n) split on sep (a component or
 * repetition separator); absent reads as empty; *len set. */
OHETS_EXTERN const char *ohets_x12_split(const char *p, size_t n, char sep,
                                         unsigned k, size_t *len);
/* Number of sep-separated fields in p[0..n) (1 for an empty string). */
OHETS_EXTERN unsigned ohets_x12_count(const char *p, size_t n, char sep);

#ifdef __cplusplus
}
#endif
#endif /* OPENHETS_OPENHETS_H */
