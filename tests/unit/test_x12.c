/* The X12 reader and writer, dates and the bounded buffer. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/x12.h"

/* x12-samples 270/01 (IG subscriber example): '*' '>' ':' '~', one line. */
static const char sample_ig[] =
    "ISA*00*          *00*          *ZZ*123456789012345*ZZ*123456789012346*"
    "080503*1705*>*00501*000010216*0*T*:~GS*HS*1234567890*1234567890*2008050"
    "3*1705*20213*X*005010X279A1~ST*270*1234*005010X279A1~BHT*0022*13*100012"
    "34*20060501*1319~HL*1**20*1~NM1*PR*2*ABC COMPANY*****PI*842610001~HL*2*"
    "1*21*1~NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035~HL*3*2*22*0~TRN*1*"
    "93175-012547*9877281234~NM1*IL*1*SMITH*ROBERT****MI*11122333301~DMG*D8*"
    "19430519~DTP*291*D8*20060501~EQ*30~SE*13*1234~GE*1*20213~IEA*1*00001021"
    "6~";

/* x12-samples 270/07 (custom delimiters): '|' '~' ':' '!', LF after each
 * terminator. */
static const char sample_custom[] =
    "ISA|00|          |00|          |ZZ|ACMEHOMEHLTH   |ZZ|DCMEDICAID     |"
    "260412|1230|~|00501|000000006|0|T|:!\n"
    "GS|HS|ACMEHOMEHLTH|DCMEDICAID|20260412|1230|6|X|005010X279A1!\n"
    "ST|270|0001|005010X279A1!\n"
    "BHT|0022|13|10001236|20260412|1230!\n"
    "HL|1||20|1!\n"
    "NM1|PR|2|DC MEDICAID|||||PI|DCMEDICAID!\n"
    "HL|2|1|21|1!\n"
    "NM1|1P|2|ACME HOME HEALTH|||||XX|1234567893!\n"
    "HL|3|2|22|0!\n"
    "TRN|1|TRACE0003|9877281234!\n"
    "NM1|IL|1|DOE|CUSTOM||||MI|000123453!\n"
    "DMG|D8|19920202|F!\n"
    "DTP|291|D8|20260412!\n"
    "EQ|30!\n"
    "SE|13|0001!\n"
    "GE|1|6!\n"
    "IEA|1|000000006!\n";

static const char *const ig_ids[] = {"ISA", "GS",  "ST",  "BHT", "HL", "NM1",
                                     "HL",  "NM1", "HL",  "TRN", "NM1", "DMG",
                                     "DTP", "EQ",  "SE",  "GE",  "IEA"};
#define IG_NSEGS (sizeof ig_ids / sizeof ig_ids[0])

/* ------------------------------------------------------------------ */
/* Delimiters                                                           */

static const struct {
  const char *name;
  const char *isa;
  char element, repetition, component, segment;
} good_isas[] = {
    {"IG sample", sample_ig, '*', '>', ':', '~'},
    {"custom delimiters", sample_custom, '|', '~', ':', '!'},
};

START_TEST(test_delims_from_samples) {
  ohets__delims d;
  const char *isa = good_isas[_i].isa;
  ck_assert_int_eq(ohets__isa_delims(isa, strlen(isa), &d), 0);
  ck_assert_int_eq(d.element, good_isas[_i].element);
  ck_assert_int_eq(d.repetition, good_isas[_i].repetition);
  ck_assert_int_eq(d.component, good_isas[_i].component);
  ck_assert_int_eq(d.segment, good_isas[_i].segment);
}
END_TEST

/* Builds a 106-byte ISA from the IG sample with one byte changed. */
static void isa_with(char *dst, size_t at, char c) {
  memcpy(dst, sample_ig, OHETS__ISA_LEN);
  dst[OHETS__ISA_LEN] = '\0';
  dst[at] = c;
}

static const struct {
  const char *name;
  size_t at;
  char c;
} bad_isa_bytes[] = {
    {"not ISA", 0, 'X'},
    {"letter as element separator", 3, 'A'},
    {"digit as element separator", 3, '1'},
    {"blank as element separator", 3, ' '},
    {"separator missing at a fixed position", 50, 'X'},
    {"separator inside a field", 40, '*'},
    {"segment terminator equals element separator", 105, '*'},
    /* ISA16 equal to another delimiter is readable: a TA1 027 (test_envelope.c). */
};

START_TEST(test_delims_unreadable) {
  char isa[OHETS__ISA_LEN + 1];
  isa_with(isa, bad_isa_bytes[_i].at, bad_isa_bytes[_i].c);
  ohets__delims d;
  ck_assert_msg(ohets__isa_delims(isa, OHETS__ISA_LEN, &d) == -EINVAL, "%s",
                bad_isa_bytes[_i].name);
}
END_TEST

START_TEST(test_delims_short) {
  ohets__delims d;
  ck_assert_int_eq(ohets__isa_delims(sample_ig, OHETS__ISA_LEN - 1, &d), -EINVAL);
  ck_assert_int_eq(ohets__isa_delims(sample_ig, OHETS__ISA_LEN, &d), 0);
  ck_assert_int_eq(ohets__isa_delims("", 0, &d), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Parsing                                                              */

static void assert_ig_segments(const ohets__x12 *x) {
  ck_assert_uint_eq(x->nsegs, IG_NSEGS);
  for (size_t i = 0; i < IG_NSEGS; i++) {
    ck_assert_msg(ohets__seg_is(x, &x->segs[i], ig_ids[i]), "segment %zu", i);
    ck_assert_uint_eq(x->segs[i].ordinal, i + 1);
  }
}

START_TEST(test_parse_ig) {
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, sample_ig, strlen(sample_ig)), 0);
  assert_ig_segments(&x);
  ck_assert_int_eq(x.unterminated, 0);
  ck_assert_uint_eq(x.trailing, 0);
  /* ISA: 17 elements counting the ID; ISA16 is the component separator. */
  ck_assert_uint_eq(x.segs[0].nelem, 17);
  ck_assert(ohets__el_eq(&x, &x.segs[0], 13, "000010216"));
  ck_assert(ohets__el_eq(&x, &x.segs[0], 16, ":"));
  /* NM1*IL*1*SMITH*ROBERT****MI*11122333301 */
  const ohets__seg *nm1 = &x.segs[10];
  ck_assert_uint_eq(nm1->nelem, 10);
  ck_assert(ohets__el_eq(&x, nm1, 3, "SMITH"));
  ck_assert(ohets__el_eq(&x, nm1, 4, "ROBERT"));
  ck_assert(ohets__el_eq(&x, nm1, 5, ""));
  ck_assert(ohets__el_eq(&x, nm1, 9, "11122333301"));
  size_t n;
  ohets__el(&x, nm1, 10, &n);
  ck_assert_uint_eq(n, 0); /* past the last element reads as empty */
  ohets__el(&x, nm1, 1000, &n);
  ck_assert_uint_eq(n, 0);
  /* Segment span: from the ID up to, not including, the terminator. */
  ck_assert_uint_eq(nm1->len, strlen("NM1*IL*1*SMITH*ROBERT****MI*11122333301"));
  ck_assert_mem_eq(x.data + nm1->off, "NM1*IL*1*SMITH", 14);
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_el_copy) {
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, sample_ig, strlen(sample_ig)), 0);
  char small[4], big[32];
  /* Returns the full length, copies what fits, always terminates. */
  ck_assert_uint_eq(ohets__el_copy(&x, &x.segs[10], 3, small, sizeof small), 5);
  ck_assert_str_eq(small, "SMI");
  ck_assert_uint_eq(ohets__el_copy(&x, &x.segs[10], 3, big, sizeof big), 5);
  ck_assert_str_eq(big, "SMITH");
  ck_assert_uint_eq(ohets__el_copy(&x, &x.segs[10], 20, big, sizeof big), 0);
  ck_assert_str_eq(big, "");
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_parse_custom_with_line_feeds) {
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, sample_custom, strlen(sample_custom)), 0);
  assert_ig_segments(&x); /* same structure, no "\nGS" IDs */
  ck_assert_int_eq(x.d.element, '|');
  ck_assert_int_eq(x.d.segment, '!');
  ck_assert_int_eq(x.unterminated, 0);
  ck_assert(ohets__el_eq(&x, &x.segs[7], 8, "XX"));
  ck_assert(ohets__el_eq(&x, &x.segs[7], 9, "1234567893"));
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_parse_crlf) {
  /* The IG sample with CR LF after every terminator. */
  char buf[sizeof sample_ig * 3];
  size_t n = 0;
  for (const char *p = sample_ig; *p; p++) {
    buf[n++] = *p;
    if (*p == '~') {
      buf[n++] = '\r';
      buf[n++] = '\n';
    }
  }
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, buf, n), 0);
  assert_ig_segments(&x);
  ck_assert_int_eq(x.unterminated, 0);
  ck_assert(ohets__el_eq(&x, &x.segs[16], 2, "000010216"));
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_parse_unterminated_tail) {
  size_t len = strlen(sample_ig) - 1; /* drop the IEA's terminator */
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, sample_ig, len), 0);
  ck_assert_uint_eq(x.nsegs, IG_NSEGS - 1);
  ck_assert_int_eq(x.unterminated, 1);
  ck_assert_uint_eq(x.trailing, strlen("IEA*1*000010216"));
  ck_assert(ohets__seg_is(&x, &x.segs[x.nsegs - 1], "GE"));
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_parse_no_isa) {
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, "GS*HS~", 6), -EINVAL);
  ck_assert_int_eq(ohets__x12_parse(&x, sample_ig + 1, strlen(sample_ig) - 1), -EINVAL);
}
END_TEST

START_TEST(test_parse_too_many_segments) {
  size_t n = OHETS__ISA_LEN + 2 * (OHETS__MAX_SEGS + 1);
  char *p = malloc(n);
  ck_assert_ptr_nonnull(p);
  memcpy(p, sample_ig, OHETS__ISA_LEN);
  for (size_t i = OHETS__ISA_LEN; i < n; i += 2)
    memcpy(p + i, "X~", 2);
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, p, n), -E2BIG);
  free(p);
}
END_TEST

/* Up to OHETS__MAX_ELEMS elements parse (the element array grows past its
 * first guess); one more is -E2BIG. */
START_TEST(test_parse_element_bound) {
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, sample_ig, OHETS__ISA_LEN), 0);
  size_t isa_elems = x.nelems;
  ohets__x12_free(&x);
  for (int extra = 0; extra <= 1; extra++) {
    size_t stars = OHETS__MAX_ELEMS - isa_elems - 1 + (size_t)extra;
    size_t n = OHETS__ISA_LEN + 1 + stars + 1;
    char *p = malloc(n);
    ck_assert_ptr_nonnull(p);
    memcpy(p, sample_ig, OHETS__ISA_LEN);
    p[OHETS__ISA_LEN] = 'X';
    memset(p + OHETS__ISA_LEN + 1, '*', stars);
    p[n - 1] = '~';
    int rc = ohets__x12_parse(&x, p, n);
    if (extra == 0) {
      ck_assert_int_eq(rc, 0);
      ck_assert_uint_eq(x.nelems, OHETS__MAX_ELEMS);
      ck_assert_uint_eq(x.nsegs, 2);
      ck_assert_uint_eq(x.segs[1].nelem, stars + 1);
      ohets__x12_free(&x);
    } else {
      ck_assert_int_eq(rc, -E2BIG);
    }
    free(p);
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Split and count                                                      */

static const struct {
  const char *s;
  unsigned k;
  const char *want;
} splits[] = {
    {"HC:G0438", 0, "HC"}, {"HC:G0438", 1, "G0438"}, {"HC:G0438", 2, ""},
    {"a::c", 1, ""},       {"a::c", 2, "c"},         {"", 0, ""},
    {":", 0, ""},          {":", 1, ""},             {"abc", 0, "abc"},
};

START_TEST(test_split) {
  size_t len;
  const char *s = splits[_i].s;
  const char *p = ohets__split(s, strlen(s), ':', splits[_i].k, &len);
  ck_assert_uint_eq(len, strlen(splits[_i].want));
  ck_assert_mem_eq(p, splits[_i].want, len);
}
END_TEST

START_TEST(test_count) {
  ck_assert_uint_eq(ohets__count("", 0, '^'), 1);
  ck_assert_uint_eq(ohets__count("30", 2, '^'), 1);
  ck_assert_uint_eq(ohets__count("1^33^35", 7, '^'), 3);
  ck_assert_uint_eq(ohets__count("^", 1, '^'), 2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Writer                                                               */

static const ohets__delims d_ig = {'*', '>', ':', '~'};
static const ohets__delims d_custom = {'|', '~', ':', '!'};

/* Written bytes as a string, for comparison. */
static const char *written(ohets_buf *b) {
  static char s[1024];
  ck_assert_uint_lt(b->len, sizeof s);
  memcpy(s, b->data, b->len);
  s[b->len] = '\0';
  return s;
}

START_TEST(test_w_seg_drops_trailing_empties) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__w w;
  ohets__w_init(&w, &b, d_ig);
  ohets__w_seg(&w, "NM1", "IL", "1", "", "", NULL);
  ohets__w_seg(&w, "HL", "1", "", "20", "1", NULL);
  ohets__w_seg(&w, "LS", "", "", NULL);
  ohets__w_seg(&w, "EQ", "30", NULL);
  ck_assert_int_eq(w.err, 0);
  ck_assert_uint_eq(w.count, 4);
  ck_assert_str_eq(written(&b), "NM1*IL*1~HL*1**20*1~LS~EQ*30~");
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_w_seg_blanks_delimiters_in_values) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__w w;
  ohets__w_init(&w, &b, d_ig);
  ohets__w_seg(&w, "NM1", "A*B~C>D:E", "F|G!", NULL);
  ck_assert_str_eq(written(&b), "NM1*A B C D E*F|G!~");
  ohets_buf_reset(&b);
  ohets__w_init(&w, &b, d_custom);
  ohets__w_seg(&w, "NM1", "A*B~C>D:E", "F|G!", NULL);
  ck_assert_str_eq(written(&b), "NM1|A*B C>D E|F G !");
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_w_segv) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__w w;
  ohets__w_init(&w, &b, d_custom);
  const char *el[] = {"291", NULL, "20261123", "", NULL};
  ohets__w_segv(&w, "DTP", el, 5);
  ck_assert_str_eq(written(&b), "DTP|291||20261123!");
  ck_assert_uint_eq(w.count, 1);
  ohets_buf_free(&b);
}
END_TEST

/* A segment comes out whole wherever the buffer's spare room ends: the
 * writer writes into the room it has and, when that runs out part-way,
 * reserves the exact size and writes the segment again. */
START_TEST(test_w_segv_across_growth) {
  const char *el[] = {"1", "A*B~C", NULL, "LONGER VALUE WITH:COLON", "", "X"};
  const char *want = "EB*1*A B C**LONGER VALUE WITH COLON**X~";
  size_t want_len = strlen(want);
  for (size_t k = 0; k < 300; k++) {
    ohets_buf b;
    ohets_buf_init(&b, 4096);
    for (size_t i = 0; i < k; i++)
      ck_assert_int_eq(ohets_buf_putc(&b, 'x'), 0);
    ohets__w w;
    ohets__w_init(&w, &b, d_ig);
    ohets__w_segv(&w, "EB", el, sizeof el / sizeof el[0]);
    ck_assert_int_eq(w.err, 0);
    ck_assert_uint_eq(b.len, k + want_len);
    for (size_t i = 0; i < k; i++)
      ck_assert_int_eq(b.data[i], 'x');
    ck_assert_msg(memcmp(b.data + k, want, want_len) == 0, "after %zu bytes: %.*s", k,
                  (int)want_len, (const char *)b.data + k);
    ohets_buf_free(&b);
  }
}
END_TEST

START_TEST(test_w_error_sticky) {
  ohets_buf b;
  ohets_buf_init(&b, 8);
  ohets__w w;
  ohets__w_init(&w, &b, d_ig);
  ohets__w_seg(&w, "EQ", "30", NULL); /* 6 bytes */
  ck_assert_int_eq(w.err, 0);
  ohets__w_seg(&w, "EQ", "30", NULL);
  ck_assert_int_eq(w.err, -ENOBUFS);
  ohets__w_seg(&w, "A", NULL);
  ck_assert_int_eq(w.err, -ENOBUFS);
  ck_assert_uint_le(b.len, 8);
  ohets_buf_free(&b);
}
END_TEST

static void fill_env(ohets__env *env, ohets__delims d) {
  memset(env, 0, sizeof *env);
  env->d = d;
  strcpy(env->isa05, "ZZ");
  strcpy(env->isa06, "SUBMITTER01");
  strcpy(env->isa07, "ZZ");
  strcpy(env->isa08, "CMS");
  strcpy(env->isa09, "261122");
  strcpy(env->isa10, "0930");
  strcpy(env->isa13, "000000905");
  env->isa14 = '1';
  env->isa15 = 'T';
  strcpy(env->gs02, "SUBMITTER01");
  strcpy(env->gs03, "CMS");
  strcpy(env->gs06, "905");
}

static ohets_request_ctx fixed_ctx(void) {
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.now.date.year = 2026;
  ctx.now.date.month = 11;
  ctx.now.date.day = 23;
  ctx.now.hour = 12;
  ctx.now.minute = 5;
  ctx.control_number = 1;
  return ctx;
}

static const struct {
  ohets__delims d;
  const char *want;
} isa_cases[] = {
    {{'*', '^', ':', '~'},
     "ISA*00*          *00*          *ZZ*CMS            *ZZ*SUBMITTER01    *"
     "261123*1205*^*00501*000000001*0*T*:~"},
    {{'|', '~', ':', '!'},
     "ISA|00|          |00|          |ZZ|CMS            |ZZ|SUBMITTER01    |"
     "261123|1205|~|00501|000000001|0|T|:!"},
};

START_TEST(test_w_isa_exact) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__env env;
  fill_env(&env, isa_cases[_i].d);
  ohets_request_ctx ctx = fixed_ctx();
  ohets__w w;
  ohets__w_init(&w, &b, isa_cases[_i].d);
  ohets__w_isa(&w, &env, &ctx, 0);
  ck_assert_int_eq(w.err, 0);
  ck_assert_uint_eq(b.len, OHETS__ISA_LEN);
  ck_assert_str_eq(written(&b), isa_cases[_i].want);
  /* What we write, we can read back with the same delimiters. */
  ohets__delims back;
  ck_assert_int_eq(ohets__isa_delims((const char *)b.data, b.len, &back), 0);
  ck_assert_int_eq(back.element, isa_cases[_i].d.element);
  ck_assert_int_eq(back.repetition, isa_cases[_i].d.repetition);
  ck_assert_int_eq(back.component, isa_cases[_i].d.component);
  ck_assert_int_eq(back.segment, isa_cases[_i].d.segment);
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_w_isa_with_ta1) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__env env;
  fill_env(&env, d_ig);
  ohets_request_ctx ctx = fixed_ctx();
  ohets__w w;
  ohets__w_init(&w, &b, d_ig);
  ohets__w_isa(&w, &env, &ctx, 1);
  ck_assert_int_eq(w.err, 0);
  ck_assert_str_eq(written(&b) + OHETS__ISA_LEN, "TA1*000000905*261122*0930*A*000~");
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_w_gs_ge_iea) {
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__env env;
  fill_env(&env, d_ig);
  ohets_request_ctx ctx = fixed_ctx();
  ctx.control_number = 42;
  ohets__w w;
  ohets__w_init(&w, &b, d_ig);
  ohets__w_gs(&w, &env, &ctx, "HB", "005010X279A1");
  ohets__w_ge(&w, 1, &ctx);
  ohets__w_iea(&w, 1, &ctx);
  ck_assert_int_eq(w.err, 0);
  ck_assert_str_eq(written(&b), "GS*HB*CMS*SUBMITTER01*20261123*1205*42*X*005010X279A1~"
                                "GE*1*42~IEA*1*000000042~");
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_d8) {
  char s[9];
  ohets_date d = {2026, 3, 7};
  ohets__d8(d, s);
  ck_assert_str_eq(s, "20260307");
}
END_TEST

START_TEST(test_w_segv_structured) {
  /* Repetition and component separators inside values are kept, element
   * and segment bytes still blanked, and the plain writer blanks again
   * afterwards. */
  ohets_buf b;
  ohets_buf_init(&b, 4096);
  ohets__w w;
  ohets__w_init(&w, &b, d_ig);
  const char *el[] = {"1", "", "45>42", "HC:G0438", "x*y~z"};
  ohets__w_segv_structured(&w, "EB", el, 5);
  ohets__w_seg(&w, "EB", "45>42", "HC:G0438", NULL);
  ck_assert_str_eq(written(&b), "EB*1**45>42*HC:G0438*x y z~EB*45 42*HC G0438~");
  ohets_buf_free(&b);
}
END_TEST

static const struct {
  uint64_t v;
  unsigned width;
  const char *want;
} dec_cases[] = {
    {0, 1, "0"},           {7, 4, "0007"},      {1234, 4, "1234"},
    {12345, 4, "12345"},   {5, 9, "000000005"}, {999999999, 9, "999999999"},
    {4294967295u, 1, "4294967295"}, {0, 0, "0"},
    {18446744073709551615u, 1, "18446744073709551615"},
};

START_TEST(test_dec) {
  char s[21];
  size_t n = ohets_dec_write(s, dec_cases[_i].v, dec_cases[_i].width);
  ck_assert_str_eq(s, dec_cases[_i].want);
  ck_assert_uint_eq(n, strlen(dec_cases[_i].want));
}
END_TEST

START_TEST(test_copy_bounded) {
  char s[4];
  ohets__copy(s, sizeof s, "AB");
  ck_assert_str_eq(s, "AB");
  ohets__copy(s, sizeof s, "ABCDEF");
  ck_assert_str_eq(s, "ABC");
  ohets__copy(s, 1, "XYZ");
  ck_assert_str_eq(s, "");
}
END_TEST

/* ------------------------------------------------------------------ */
/* Dates                                                                */

static const struct {
  const char *s;
  int ok;
  int y, m, d;
} d8_cases[] = {
    {"20261123", 1, 2026, 11, 23}, {"20240229", 1, 2024, 2, 29},
    {"20000229", 1, 2000, 2, 29},  {"20230229", 0, 0, 0, 0},
    {"19000229", 0, 0, 0, 0},      {"20261301", 0, 0, 0, 0},
    {"20261100", 0, 0, 0, 0},      {"20260431", 0, 0, 0, 0},
    {"20261131", 0, 0, 0, 0},      {"20261231", 1, 2026, 12, 31},
    {"2026112", 0, 0, 0, 0},       {"202611234", 0, 0, 0, 0},
    {"2026-11-", 0, 0, 0, 0},      {"2026 123", 0, 0, 0, 0},
    {"", 0, 0, 0, 0},
};

START_TEST(test_parse_d8) {
  ohets_date d = {1, 1, 1};
  const char *s = d8_cases[_i].s;
  int rc = ohets_date_parse_d8(s, strlen(s), &d);
  if (!d8_cases[_i].ok) {
    ck_assert_msg(rc == -EINVAL, "%s accepted", s);
    return;
  }
  ck_assert_msg(rc == 0, "%s refused", s);
  ck_assert_int_eq(d.year, d8_cases[_i].y);
  ck_assert_int_eq(d.month, d8_cases[_i].m);
  ck_assert_int_eq(d.day, d8_cases[_i].d);
  ck_assert(ohets_date_valid(d));
}
END_TEST

START_TEST(test_parse_iso) {
  ohets_date d;
  ck_assert_int_eq(ohets_date_parse_iso("2026-11-23", 10, &d), 0);
  ck_assert_int_eq(d.year, 2026);
  ck_assert_int_eq(d.month, 11);
  ck_assert_int_eq(d.day, 23);
  ck_assert_int_eq(ohets_date_parse_iso("2024-02-29", 10, &d), 0);
  ck_assert_int_eq(ohets_date_parse_iso("2023-02-29", 10, &d), -EINVAL);
  ck_assert_int_eq(ohets_date_parse_iso("2026/11/23", 10, &d), -EINVAL);
  ck_assert_int_eq(ohets_date_parse_iso("20261123", 8, &d), -EINVAL);
  ck_assert_int_eq(ohets_date_parse_iso("2026-1-23", 9, &d), -EINVAL);
}
END_TEST

START_TEST(test_date_valid_and_cmp) {
  ohets_date none = {0, 0, 0};
  ohets_date a = {2025, 12, 31}, b = {2026, 1, 1}, c = {2026, 1, 2};
  ck_assert(!ohets_date_valid(none));
  ck_assert(ohets_date_valid(a));
  ck_assert_int_lt(ohets_date_cmp(a, b), 0);
  ck_assert_int_gt(ohets_date_cmp(c, b), 0);
  ck_assert_int_eq(ohets_date_cmp(b, b), 0);
  ohets_date m1 = {2026, 1, 31}, m2 = {2026, 2, 1};
  ck_assert_int_lt(ohets_date_cmp(m1, m2), 0);
}
END_TEST

static const struct {
  int y, m, d, months;
  int wy, wm, wd;
} month_cases[] = {
    {2024, 1, 31, 1, 2024, 2, 29},   /* leap February */
    {2023, 1, 31, 1, 2023, 2, 28},   /* common February */
    {2024, 2, 29, 12, 2025, 2, 28},  /* Feb 29 a year on */
    {2024, 2, 29, -12, 2023, 2, 28}, /* and a year back */
    {2024, 2, 29, 48, 2028, 2, 29},  /* four years on: leap again */
    {2024, 3, 31, -1, 2024, 2, 29},
    {2026, 3, 31, -1, 2026, 2, 28},
    {2026, 5, 31, 1, 2026, 6, 30},
    {2026, 11, 23, 4, 2027, 3, 23},  /* DESIGN §5: 4 months after */
    {2026, 11, 23, -48, 2022, 11, 23}, /* 4 years before */
    {2026, 12, 15, 1, 2027, 1, 15},
    {2026, 1, 15, -1, 2025, 12, 15},
    {2026, 1, 15, 0, 2026, 1, 15},
    {2026, 8, 31, -6, 2026, 2, 28},
};

START_TEST(test_add_months) {
  ohets_date d = {(int16_t)month_cases[_i].y, (uint8_t)month_cases[_i].m,
                  (uint8_t)month_cases[_i].d};
  ohets_date r = ohets_date_add_months(d, month_cases[_i].months);
  ck_assert_msg(r.year == month_cases[_i].wy && r.month == month_cases[_i].wm &&
                    r.day == month_cases[_i].wd,
                "%d-%d-%d %+d months: got %d-%d-%d", month_cases[_i].y,
                month_cases[_i].m, month_cases[_i].d, month_cases[_i].months,
                r.year, r.month, r.day);
}
END_TEST

START_TEST(test_add_months_no_date) {
  /* An absent date (all zero) must not index outside the month table. */
  ohets_date none = {0, 0, 0};
  ohets_date r = ohets_date_add_months(none, 0);
  ck_assert_int_ge(r.month, 1);
  ck_assert_int_le(r.month, 12);
  r = ohets_date_add_months(none, -13);
  ck_assert_int_ge(r.month, 1);
  ck_assert_int_le(r.month, 12);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bounded buffer                                                       */

START_TEST(test_buf_bound) {
  ohets_buf b;
  ohets_buf_init(&b, 10);
  ck_assert_int_eq(ohets_buf_append(&b, "0123456789", 10), 0);
  ck_assert_int_eq(ohets_buf_putc(&b, 'x'), -ENOBUFS);
  ck_assert_int_eq(ohets_buf_puts(&b, "y"), -ENOBUFS);
  ck_assert_int_eq(ohets_buf_printf(&b, "%d", 1), -ENOBUFS);
  ck_assert_uint_eq(b.len, 10);
  ck_assert_mem_eq(b.data, "0123456789", 10);
  ck_assert_int_eq(ohets_buf_append(&b, "", 0), 0);
  ohets_buf_reset(&b);
  ck_assert_uint_eq(b.len, 0);
  ck_assert_int_eq(ohets_buf_puts(&b, "abc"), 0);
  ck_assert_int_eq(ohets_buf_printf(&b, "%03d", 7), 0);
  ck_assert_uint_eq(b.len, 6);
  ck_assert_mem_eq(b.data, "abc007", 6);
  ck_assert_int_eq(ohets_buf_append(&b, "12345", 5), -ENOBUFS);
  ck_assert_uint_eq(b.len, 6);
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_buf_grows) {
  ohets_buf b;
  ohets_buf_init(&b, 100000);
  for (int i = 0; i < 10000; i++)
    ck_assert_int_eq(ohets_buf_putc(&b, (char)('a' + i % 26)), 0);
  ck_assert_uint_eq(b.len, 10000);
  ck_assert_uint_le(b.cap, b.max);
  ck_assert_int_eq(b.data[9999], 'a' + 9999 % 26);
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_buf_long_printf) {
  char text[600];
  memset(text, 'q', sizeof text - 1);
  text[sizeof text - 1] = '\0';
  ohets_buf b;
  /* Exactly room for the formatted text: the NUL must not count. */
  ohets_buf_init(&b, 2 + sizeof text - 1);
  ck_assert_int_eq(ohets_buf_printf(&b, "<%s>", text), 0);
  ck_assert_uint_eq(b.len, b.max);
  ck_assert_int_eq(b.data[0], '<');
  ck_assert_int_eq(b.data[b.len - 1], '>');
  ck_assert_int_eq(ohets_buf_printf(&b, "%s", text), -ENOBUFS);
  ohets_buf_free(&b);
}
END_TEST

static Suite *x12_suite(void) {
  Suite *s = suite_create("x12");
  TCase *t = tcase_create("reader");
  tcase_add_loop_test(t, test_delims_from_samples, 0,
                      (int)(sizeof good_isas / sizeof good_isas[0]));
  tcase_add_loop_test(t, test_delims_unreadable, 0,
                      (int)(sizeof bad_isa_bytes / sizeof bad_isa_bytes[0]));
  tcase_add_test(t, test_delims_short);
  tcase_add_test(t, test_parse_ig);
  tcase_add_test(t, test_el_copy);
  tcase_add_test(t, test_parse_custom_with_line_feeds);
  tcase_add_test(t, test_parse_crlf);
  tcase_add_test(t, test_parse_unterminated_tail);
  tcase_add_test(t, test_parse_no_isa);
  tcase_add_test(t, test_parse_too_many_segments);
  tcase_add_test(t, test_parse_element_bound);
  tcase_add_loop_test(t, test_split, 0, (int)(sizeof splits / sizeof splits[0]));
  tcase_add_test(t, test_count);
  suite_add_tcase(s, t);

  t = tcase_create("writer");
  tcase_add_test(t, test_w_seg_drops_trailing_empties);
  tcase_add_test(t, test_w_seg_blanks_delimiters_in_values);
  tcase_add_test(t, test_w_segv);
  tcase_add_test(t, test_w_segv_across_growth);
  tcase_add_test(t, test_w_error_sticky);
  tcase_add_loop_test(t, test_w_isa_exact, 0,
                      (int)(sizeof isa_cases / sizeof isa_cases[0]));
  tcase_add_test(t, test_w_isa_with_ta1);
  tcase_add_test(t, test_w_gs_ge_iea);
  tcase_add_test(t, test_d8);
  tcase_add_test(t, test_w_segv_structured);
  tcase_add_loop_test(t, test_dec, 0, (int)(sizeof dec_cases / sizeof dec_cases[0]));
  tcase_add_test(t, test_copy_bounded);
  suite_add_tcase(s, t);

  t = tcase_create("dates");
  tcase_add_loop_test(t, test_parse_d8, 0, (int)(sizeof d8_cases / sizeof d8_cases[0]));
  tcase_add_test(t, test_parse_iso);
  tcase_add_test(t, test_date_valid_and_cmp);
  tcase_add_loop_test(t, test_add_months, 0,
                      (int)(sizeof month_cases / sizeof month_cases[0]));
  tcase_add_test(t, test_add_months_no_date);
  suite_add_tcase(s, t);

  t = tcase_create("buf");
  tcase_add_test(t, test_buf_bound);
  tcase_add_test(t, test_buf_grows);
  tcase_add_test(t, test_buf_long_printf);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(x12_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
